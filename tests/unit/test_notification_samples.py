"""doc/notifications/: a sample of every event, of the payloads' shape."""

from mogan_valence.engine import notifications
from tests import base
from tests import notification_shape


def _events() -> list[str]:
    actions = [notifications.CREATE, notifications.DELETE]
    actions += list(notifications.POWER_ACTIONS.values())
    phases = (notifications.START, notifications.END, notifications.ERROR)
    return sorted(f"server.{a}.{p}" for a in actions for p in phases)


class TestSamples(base.TestCase):
    def test_a_sample_of_every_event(self):
        self.assertEqual(_events(), notification_shape.sample_event_types())

    def test_samples_have_the_shape_of_the_payloads(self):
        for event_type in notification_shape.sample_event_types():
            sample = notification_shape.sample(event_type)
            self.assertEqual(event_type, sample["event_type"])
            self.assertEqual(
                [],
                notification_shape.check(
                    event_type,
                    sample["priority"],
                    sample["publisher_id"],
                    sample["payload"],
                ),
            )

    def test_the_check_catches_a_missing_field(self):
        sample = notification_shape.sample("server.create.end")
        payload = sample["payload"]
        del payload["mogan_object.data"]["power_state"]
        payload["mogan_object.data"]["composed_node"]["mogan_object.data"]["granted"][
            "mogan_object.data"
        ]["cpus"] = "eight"
        problems = notification_shape.check(
            "server.create.end", "INFO", "mogan-valence-engine:x", payload
        )
        self.assertEqual(2, len(problems), problems)
