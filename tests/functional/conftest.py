"""Session-wide real services for the functional tests.

RabbitMQ comes from tools/with_services.py (MOGAN_VALENCE_TEST_TRANSPORT_URL);
Ironic is started here, once, and shared: each test uses resource classes of
its own so that tests never see each other's nodes. Redis (the jobboard and
the coordination of several engines) is started here too: one shared server,
and private ones for the tests that restart or kill theirs.
"""

import os
import uuid as uuidlib

import pytest
import sqlalchemy

from mogan_valence.localstack import ironic as local_ironic
from mogan_valence.localstack.redis import RedisServer
from tests import base


def _unavailable(what: str):
    if base.REQUIRE_SERVICES:
        pytest.fail(f"{what} (required: MOGAN_VALENCE_REQUIRE_SERVICES=1)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def transport_url():
    url = os.environ.get("MOGAN_VALENCE_TEST_TRANSPORT_URL")
    if not url:
        _unavailable(
            "no RabbitMQ: run the tests through 'make test' "
            "(tools/with_services.py) with rabbitmq-server installed"
        )
    return url


def _ironic_database() -> str | None:
    """A fresh MariaDB database for the test Ironic when tools/with_services.py
    runs one (CI does): as deployments run it, and without the lock errors
    SQLite gives Ironic's allocations under concurrent creates. None: SQLite."""
    for url in os.environ.get("OS_TEST_DBAPI_ADMIN_CONNECTION", "").split(";"):
        if url.startswith("mysql"):
            name = f"ironic_{uuidlib.uuid4().hex[:8]}"
            engine = sqlalchemy.create_engine(url)
            try:
                with engine.connect() as conn:
                    conn.exec_driver_sql(
                        f"CREATE DATABASE {name} CHARACTER SET utf8mb4"
                    )
            finally:
                engine.dispose()
            return f"{url.rstrip('/')}/{name}?charset=utf8mb4"
    return None


@pytest.fixture(scope="session")
def ironic(tmp_path_factory):
    if not local_ironic.available():
        _unavailable("the ironic package is not installed")
    server = local_ironic.StandaloneIronic(
        str(tmp_path_factory.mktemp("ironic")), connection=_ironic_database()
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def resource_class():
    return f"test-{uuidlib.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def keystone(tmp_path_factory):
    from mogan_valence.localstack import keystone as local_keystone

    if not local_keystone.available():
        _unavailable("the keystone package is not installed")
    server = local_keystone.LocalKeystone(str(tmp_path_factory.mktemp("keystone")))
    server.start()
    yield server
    server.stop()


def _require_redis():
    if not RedisServer.available():
        _unavailable("redis-server is not installed (Debian package redis-server)")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A started RedisServer shared by the session (persistent).

    Tests share it: each uses keys (a jobboard name, a lock name) of its own,
    and none restarts it; those that must, use ``redis_factory``.
    """
    _require_redis()
    server = RedisServer(str(tmp_path_factory.mktemp("redis")))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_factory(tmp_path_factory):
    """``make(persistent=True, port=None) -> RedisServer``: another started
    Redis, private to the caller (which may stop, kill or restart it), in a
    directory of its own. Whatever is still running is stopped at the end of
    the session."""
    _require_redis()
    servers: list[RedisServer] = []

    def make(persistent: bool = True, port: int | None = None) -> RedisServer:
        server = RedisServer(
            str(tmp_path_factory.mktemp("redis")), port=port, persistent=persistent
        )
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def iso_url(tmp_path_factory):
    """A small boot ISO served over HTTP: the image of a ramdisk deploy
    through Ironic's redfish driver (virtual media)."""
    import functools
    import http.server
    import io
    import threading

    import pycdlib

    root = tmp_path_factory.mktemp("http")
    iso = pycdlib.PyCdlib()
    iso.new()
    data = b"mogan-valence test boot image\n"
    iso.add_fp(io.BytesIO(data), len(data), "/README.;1")
    iso.write(str(root / "boot.iso"))
    iso.close()
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(root)
    )
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/boot.iso"
    server.shutdown()
