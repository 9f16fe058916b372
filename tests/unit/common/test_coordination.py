import threading
import urllib.parse

from mogan_valence.common import coordination
from tests import base


class TestBackendUrl(base.TestCase):
    def test_none_without_a_board_or_a_url(self):
        self.assertIsNone(coordination.backend_url(base.CONF))
        self.assertIsInstance(
            coordination.get_coordinator(base.CONF, "e"), coordination.LocalCoordinator
        )

    def test_the_jobboard_redis_by_default(self):
        self.config(group="engine", jobboard_backend="redis://127.0.0.1:6390/2")
        self.assertEqual(
            "redis://127.0.0.1:6390/2", coordination.backend_url(base.CONF)
        )

    def test_its_own_url_first(self):
        self.config(group="engine", jobboard_backend="redis://a:1")
        self.config(group="coordination", backend_url="redis://b:2")
        self.assertEqual("redis://b:2", coordination.backend_url(base.CONF))

    def test_locks_live_as_long_as_claims_unless_the_url_says(self):
        self.config(
            group="engine",
            jobboard_backend="redis://127.0.0.1:6390",
            jobboard_expiration_time=12,
        )
        coordinator = coordination.get_coordinator(base.CONF, "e")
        self.assertEqual(12, coordinator._coordinator.lock_timeout)
        self.config(
            group="coordination", backend_url="redis://127.0.0.1:6390?timeout=7"
        )
        coordinator = coordination.get_coordinator(base.CONF, "e")
        self.assertEqual(7, coordinator._coordinator.lock_timeout)


class TestLocal(base.TestCase):
    def setUp(self):
        super().setUp()
        self.c = coordination.LocalCoordinator()

    def test_lock_is_exclusive_between_threads(self):
        held = threading.Event()
        release = threading.Event()

        def hold():
            with self.c.lock("x"):
                held.set()
                release.wait(5)

        t = threading.Thread(target=hold)
        t.start()
        held.wait(5)
        with self.c.try_lock("x") as mine:
            self.assertFalse(mine)
        self.assertRaises(coordination.CoordinationError, self._enter, "x", 0.05)
        release.set()
        t.join(5)
        with self.c.try_lock("x") as mine:
            self.assertTrue(mine)

    def _enter(self, name, timeout):
        with self.c.lock(name, timeout=timeout):
            pass

    def test_slot_admits_size_holders(self):
        with self.c.slot("s", 2), self.c.slot("s", 2):
            self.assertRaises(coordination.CoordinationError, self._slot, "s", 2, 0.05)
        with self.c.slot("s", 2):
            pass

    def _slot(self, name, size, timeout):
        with self.c.slot(name, size, timeout=timeout):
            pass


class TestCancel(base.TestCase):
    def test_a_wait_for_a_lock_can_be_given_up(self):
        c = coordination.LocalCoordinator()
        with c.lock("x"):
            with self.assertRaises(coordination.CoordinationError):
                with c.lock("x", cancel=lambda: True):
                    pass


class TestToozUrl(base.TestCase):
    def test_db_tls_password_and_timeout_as_tooz_reads_them(self):
        url = coordination.tooz_url("rediss://:p%40ss@h:6380/2", 30)
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qs(parts.query)
        self.assertEqual("redis", parts.scheme)
        self.assertEqual(
            ("p@ss", "h", 6380), (parts.password, parts.hostname, parts.port)
        )
        self.assertEqual({"timeout": ["30"], "db": ["2"], "ssl": ["true"]}, query)

    def test_what_the_url_says_wins(self):
        url = coordination.tooz_url("redis://h/1?timeout=7&db=3", 30)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        self.assertEqual({"timeout": ["7"], "db": ["3"]}, query)

    def test_other_backends_are_left_alone(self):
        self.assertEqual(
            "etcd3+http://h:2379", coordination.tooz_url("etcd3+http://h:2379", 30)
        )

    def test_a_bad_url_is_named_without_its_secrets(self):
        e = self.assertRaises(
            coordination.CoordinationError,
            coordination.ToozCoordinator,
            "nosuchdriver://:s3cret@h",
            "e",
        )
        self.assertNotIn("s3cret", str(e))
        self.assertIn("backend_url", str(e))
