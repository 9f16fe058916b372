"""What the functional tests do with the real python-moganclient 0.1.0 (and
the requests its OSC plugin sends), shared by the REST API, standalone and
Keystone tests."""

import time

from moganclient.common import exceptions as mogan_exc


def poll(fetch, done, timeout=120):
    """``fetch()`` until ``done(value)``; that value. Fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"still {value} after {timeout}s"
        time.sleep(0.3)


def power_off_and_on(mogan, session, url: str, uuid: str) -> None:
    """PUT /states/power off, then on, each waited for (the 0.1.0 client has
    no call for it; its OSC plugin sends this same request)."""
    for target, power_state in (("off", "power off"), ("on", "power on")):
        answer = session.put(
            f"{url}/servers/{uuid}/states/power",
            json={"target": target},
            raise_exc=False,
        )
        assert answer.status_code == 202, answer.text
        poll(
            lambda: mogan.server.get(uuid),
            lambda s, p=power_state: s.power_state == p,
        )


def delete_and_wait_gone(mogan, uuid: str) -> None:
    mogan.server.delete(uuid)

    def gone():
        try:
            mogan.server.get(uuid)
        except mogan_exc.NotFound:
            return True
        return False

    poll(gone, bool)
