from unittest import mock

from mogan_valence.engine import manager
from mogan_valence.engine import rpcapi
from tests import base


class TestEngineAPI(base.TestCase):
    def test_versions_in_sync(self):
        self.assertEqual(
            manager.EngineManager.RPC_API_VERSION, rpcapi.EngineAPI.RPC_API_VERSION
        )

    def test_calls_are_addressed_to_the_configured_engine(self):
        self.config(group="engine", host="engine-7", topic="t")
        transport = mock.Mock()
        with mock.patch("oslo_messaging.get_rpc_client") as get_client:
            api = rpcapi.EngineAPI(transport=transport, timeout=5)
            api.create_instance("ctx", "web", "bm", "img")
        target = get_client.call_args[0][1]
        self.assertEqual(("t", "1.4"), (target.topic, target.version))
        prepared = get_client.return_value.prepare
        prepared.assert_called_once_with(version="1.0", server="engine-7", timeout=5)
        prepared.return_value.call.assert_called_once_with(
            "ctx",
            "create_instance",
            name="web",
            flavor="bm",
            image_source="img",
            description=None,
        )
