import pytest

from tests.unit.simulator.composition import helpers


@pytest.fixture
def make():
    yield from helpers._make_fixture()


@pytest.fixture
def client(make):
    return make()
