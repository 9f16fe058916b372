"""Extensions registered by test_extensions through a temporary dist-info."""

from mogan_valence.engine import extensions


class Recording(extensions.EngineExtension):
    name = "recording"

    def __init__(self, host):
        super().__init__(host)
        self.reshaped = []

    def claims_flavor(self, flavor):
        return bool(flavor.get("composition"))

    def reshape_create_flow(self, context, instance_uuid, flavor, tasks):
        self.reshaped.append(instance_uuid)
        return tasks


class Broken(extensions.EngineExtension):
    def __init__(self, host):
        raise RuntimeError("cannot reach its backend")


class NotAnExtension:
    def __init__(self, host):
        pass
