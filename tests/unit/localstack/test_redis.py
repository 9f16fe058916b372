"""RedisServer: a real redis-server, started, restarted with its data, stopped."""

import socket

import redis

from mogan_valence.localstack.redis import RedisServer
from tests import base


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class TestRedisServer(base.TestCase):
    def setUp(self):
        super().setUp()
        if not RedisServer.available():
            if base.REQUIRE_SERVICES:
                self.fail("redis-server is not installed")
            self.skipTest("redis-server is not installed (Debian package redis-server)")
        self.server = RedisServer(self.tmp_dir)
        self.addCleanup(self.server.stop)

    def client(self):
        client = redis.Redis.from_url(self.server.url, socket_timeout=5)
        self.addCleanup(client.close)
        return client

    def test_restart_keeps_keys_and_ttls_on_the_same_port(self):
        self.server.start()
        port = self.server.port
        self.assertEqual(f"redis://127.0.0.1:{port}", self.server.url)
        self.assertTrue(self.client().ping())
        self.client().set("claim", b"engine-1", ex=300)

        self.server.restart()

        self.assertEqual(port, self.server.port)
        client = self.client()
        self.assertEqual(b"engine-1", client.get("claim"))
        self.assertGreater(client.ttl("claim"), 250)

        self.server.stop()
        self.assertFalse(self.server.running)
        self.assertFalse(_port_open(port))

    def test_a_write_survives_sigkill(self):
        with self.server:
            self.client().set("job", b"posted")
            self.server.kill()
            self.assertFalse(_port_open(self.server.port))
            self.server.start()
            self.assertEqual(b"posted", self.client().get("job"))

    def test_not_persistent_forgets(self):
        server = RedisServer(self.tmp_dir + "/volatile", persistent=False)
        self.addCleanup(server.stop)
        server.start()
        client = redis.Redis.from_url(server.url, socket_timeout=5)
        self.addCleanup(client.close)
        client.set("job", b"posted")
        server.restart()
        self.assertIsNone(client.get("job"))

    def test_a_port_in_use_is_reported_with_the_log(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            server = RedisServer(self.tmp_dir, port=busy.getsockname()[1])
            error = self.assertRaises(RuntimeError, server.start)
        self.assertIn(server.log_path, str(error))
        self.assertFalse(server.running)
