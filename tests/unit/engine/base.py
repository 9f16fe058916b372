from oslo_messaging.rpc import dispatcher

from mogan_valence.common import context
from mogan_valence.engine import manager
from tests import base
from tests.unit import fake_ironic

NODE_A = "aaaaaaaa-0000-4000-8000-000000000001"
NODE_B = "bbbbbbbb-0000-4000-8000-000000000002"
NODE_C = "cccccccc-0000-4000-8000-000000000003"


class Endpoint:
    """The manager as an RPC client sees it: expected errors unwrapped.

    ``messaging.expected_exceptions`` wraps them in ExpectedException for the
    dispatcher, which unwraps them before they travel.
    """

    def __init__(self, manager):
        self._manager = manager

    def __getattr__(self, name):
        attr = getattr(self._manager, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            try:
                return attr(*args, **kwargs)
            except dispatcher.ExpectedException as e:
                raise e.exc_info[1] from None

        return call


class EngineTestCase(base.DbTestCase):
    nodes = {NODE_A: "baremetal", NODE_B: "baremetal"}

    def setUp(self):
        super().setUp()
        self.config(group="engine", poll_interval_min=0.01, poll_interval_max=0.01)
        self.ironic = fake_ironic.FakeIronic(dict(self.nodes))
        self.ctx = context.get_admin_context()
        self.manager = Endpoint(manager.EngineManager(self.ironic))
        self.manager.init_host()
        self.addCleanup(self.manager.del_host, 10)
        self.flavor = self.manager.create_flavor(
            self.ctx, "bm", resources={"baremetal": 1}
        )

    def create(self, name="web", flavor="bm", image="http://img/x.qcow2"):
        instance = self.manager.create_instance(self.ctx, name, flavor, image)
        self.manager.wait_idle(30)
        return self.manager.get_instance(self.ctx, instance.uuid)

    def delete(self, uuid):
        self.manager.delete_instance(self.ctx, uuid)
        self.manager.wait_idle(30)
        return self.manager.get_instance(self.ctx, uuid)
