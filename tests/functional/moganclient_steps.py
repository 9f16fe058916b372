"""What the functional tests do with the real python-moganclient 0.1.0 (and
the requests its OSC plugin sends), shared by the REST API, standalone and
Keystone tests."""

from moganclient.common import exceptions as mogan_exc

from mogan_valence.common import polling

INTERVAL = 0.3
GONE = "gone"


def poll(fetch, done, timeout=120):
    """``fetch()`` until ``done(value)``; that value. Fails after ``timeout``."""
    try:
        return polling.wait_for(
            fetch,
            done,
            timeout=timeout,
            what="a condition",
            interval_min=INTERVAL,
            interval_max=INTERVAL,
        )
    except polling.PollTimeout as e:
        raise AssertionError(f"still {e.last} after {timeout}s") from None


def wait_server(mogan, uuid: str, wanted: set[str], attr="status", timeout=120):
    """The server once its ``attr`` (``status``, ``power_state``) is in
    ``wanted``; GONE in ``wanted`` ends the wait at a 404 (returning None)."""

    def fetch():
        try:
            return mogan.server.get(uuid)
        except mogan_exc.NotFound:
            if GONE in wanted:
                return None
            raise

    try:
        return polling.wait_for_status(
            fetch,
            wanted,
            status=lambda s: GONE if s is None else getattr(s, attr),
            timeout=timeout,
            what=f"server {uuid} {attr} to be {' or '.join(sorted(wanted))}",
            interval=INTERVAL,
        )
    except polling.StatusTimeout as e:
        raise AssertionError(str(e)) from None


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
        wait_server(mogan, uuid, {power_state}, attr="power_state")


def delete_and_wait_gone(mogan, uuid: str) -> None:
    mogan.server.delete(uuid)
    wait_server(mogan, uuid, {GONE})
