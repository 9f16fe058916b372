"""Write doc/notifications/<event_type>.json: one sample of each event the
engine sends, built with the engine's own payload code.

Run after changing a payload (and bump its version):
``python tools/notification_samples.py``. A unit test checks the samples
have the shape the payload objects produce; the functional test checks
every notification on the broker against its sample.
"""

import json
import pathlib
import sys

from oslo_config import cfg

from mogan_valence import conf as _conf  # noqa: F401  (registers the options)
from mogan_valence.common import states
from mogan_valence.engine import notifications
from mogan_valence import objects
from mogan_valence.objects import instance as instance_obj
from mogan_valence.objects import notification as payloads

OUT = pathlib.Path(__file__).resolve().parents[1] / "doc" / "notifications"
HOST = "engine-1"
NODE = "4a1bd8c0-7e0a-4d0e-9d55-7c2f3d9b5e21"
COMPOSITION = {"cpu_cores": 8, "ram_mib": 16384, "disk_gb": 100, "disk_type": "SSD"}
GRANTED = {"cpus": 8, "memory_mb": 16384, "local_gb": 100}
CREATE_STEPS = {
    "compose-node": 3.412,
    "enroll-node": 8.031,
    "create-instance": 41.207,
    "mark-instance-active": 0.012,
}
DELETE_STEPS = {
    "mark-instance-deleting": 0.009,
    "undeploy": 35.64,
    "unenroll": 0.412,
    "release": 1.108,
    "return-host": 0.004,
    "mark-instance-deleted": 0.011,
}


def _instance(status, power_state, node=NODE):
    return instance_obj.Instance(
        uuid="1be26c0b-03f2-4d2e-ae87-c02d7f33c123",
        name="web-1",
        project_id="6f70656e737461636b20342065766572",
        user_id="a2d3b3a4f5c14d6c9d8e1f0a3b2c1d0e",
        flavor_uuid="0d9c8b7a-6f5e-4d3c-8b2a-1a0f9e8d7c6b",
        status=status,
        power_state=power_state,
        node_uuid=node,
    )


def _fault(step, exception, message):
    return payloads.FaultPayload(step=step, exception=exception, message=message)


def samples() -> dict[str, tuple[str, dict]]:
    """event_type -> (priority, payload primitive)."""
    notifier = notifications.Notifier(cfg.CONF)
    made = {}

    def add(action, phase, instance, granted=None, fault=None, durations=None):
        payload = notifier.payload(instance, COMPOSITION, granted, fault, durations)
        payload.obj_reset_changes(recursive=True)
        priority = "ERROR" if phase == notifications.ERROR else "INFO"
        made[f"server.{action}.{phase}"] = (priority, payload.obj_to_primitive())

    create, delete = notifications.CREATE, notifications.DELETE
    start, end, error = notifications.START, notifications.END, notifications.ERROR
    add(create, start, _instance(states.BUILDING, None, node=None))
    add(
        create,
        end,
        _instance(states.ACTIVE, states.POWER_ON),
        GRANTED,
        None,
        CREATE_STEPS,
    )
    add(
        create,
        error,
        _instance(states.ERROR, None, node=None),
        None,
        _fault(
            "compose-node",
            "ValenceError",
            "Valence answered 500 to POST /v1/nodes: injected fault: compose failed",
        ),
        {"compose-node": 0.318},
    )
    add(delete, start, _instance(states.DELETING, states.POWER_ON), GRANTED)
    add(delete, end, _instance(states.DELETED, None), GRANTED, None, DELETE_STEPS)
    add(
        delete,
        error,
        _instance(states.ERROR, None),
        GRANTED,
        _fault(
            "undeploy",
            "CleanFailed",
            "Node 4a1bd8c0-7e0a-4d0e-9d55-7c2f3d9b5e21: undeploy ended in clean failed",
        ),
        {"mark-instance-deleting": 0.009, "undeploy": 61.02},
    )
    for target, action in notifications.POWER_ACTIONS.items():
        before = states.POWER_ON if target in ("off", "soft_off") else states.POWER_OFF
        after = states.POWER_OFF if target in ("off", "soft_off") else states.POWER_ON
        add(action, start, _instance(states.ACTIVE, before), GRANTED)
        add(action, end, _instance(states.ACTIVE, after), GRANTED)
        add(
            action,
            error,
            _instance(states.ACTIVE, before),
            GRANTED,
            _fault(
                f"power {target}",
                "IronicError",
                f"Ironic refused power {target} of node {NODE}: the BMC did not answer",
            ),
        )
    return made


def envelope(event_type: str, priority: str, payload: dict) -> dict:
    """A notification as the messagingv2 driver sends it."""
    return {
        "event_type": event_type,
        "priority": priority,
        "publisher_id": f"{notifications.PUBLISHER}:{HOST}",
        "payload": payload,
        "message_id": "5b8c3d2e-4a1f-4b6e-9c0d-8e7f6a5b4c3d",
        "timestamp": "2026-12-07 10:24:59.123456",
    }


def main() -> int:
    cfg.CONF([], project="mogan-valence", default_config_files=[])
    objects.register_all()
    OUT.mkdir(parents=True, exist_ok=True)
    for event_type, (priority, payload) in sorted(samples().items()):
        path = OUT / f"{event_type}.json"
        path.write_text(
            json.dumps(
                envelope(event_type, priority, payload), indent=4, sort_keys=True
            )
            + "\n"
        )
        print(path.relative_to(OUT.parents[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
