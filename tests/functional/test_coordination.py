"""Locks and slots between engines, on a real Redis (tooz)."""

import os
import time

import pytest

from mogan_valence.common import coordination


@pytest.fixture
def coordinators(redis_factory):
    redis = redis_factory()
    made = []

    def make(timeout=3):
        c = coordination.ToozCoordinator(
            f"{redis.url}?timeout={timeout}", os.urandom(4).hex()
        )
        c.start()
        made.append(c)
        return c

    yield make, redis
    for c in made:
        c.stop()


def _try(c, name) -> bool:
    with c.try_lock(name) as mine:
        return mine


def test_a_lock_has_one_holder_among_engines(coordinators):
    make, _ = coordinators
    one, two = make(), make()
    with one.lock("instance-x"):
        assert not _try(two, "instance-x")
        with pytest.raises(coordination.CoordinationError):
            with two.lock("instance-x", timeout=0.3):
                pass
    assert _try(two, "instance-x")


def test_a_slot_admits_its_size_across_engines(coordinators):
    make, _ = coordinators
    one, two, three = make(), make(), make()
    with one.slot("compose-p", 2), two.slot("compose-p", 2):
        with pytest.raises(coordination.CoordinationError):
            with three.slot("compose-p", 2, timeout=0.3):
                pass
    with three.slot("compose-p", 2, timeout=1):
        pass


def test_held_locks_outlive_their_timeout_while_the_engine_lives(coordinators):
    make, _ = coordinators
    one, two = make(timeout=2), make(timeout=2)
    with one.lock("long"):
        time.sleep(3)  # longer than the lock's timeout: the heart keeps it
        assert not _try(two, "long")


def test_the_lock_of_a_dead_engine_frees_after_its_timeout(coordinators):
    make, _ = coordinators
    dead, alive = make(timeout=2), make(timeout=2)
    lock = dead._get("instance-y")
    assert lock.acquire(blocking=False)
    dead._stop.set()  # its heart stops, as in a SIGKILLed engine
    assert not _try(alive, "instance-y")
    deadline = time.monotonic() + 6
    while not _try(alive, "instance-y"):
        assert time.monotonic() < deadline, "the dead engine's lock never expired"
        time.sleep(0.2)


def test_locks_survive_a_redis_restart(coordinators):
    make, redis = coordinators
    one, two = make(timeout=10), make(timeout=10)
    with one.lock("instance-z"):
        redis.restart()
        assert not _try(two, "instance-z")
    assert _try(two, "instance-z")
