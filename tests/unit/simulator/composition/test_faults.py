"""Fault injection through /admin/faults and the Python handle."""

import time

import pytest
import requests

from tests.unit.simulator.composition.helpers import error_of
from tests.unit.simulator.composition.helpers import specific

SYSTEMS = "/redfish/v1/Systems"


def test_fail_the_next_composes(client):
    r = client.post(
        "/admin/faults", json={"operation": "compose", "count": 2, "status": 503}
    )
    assert r.status_code == 201
    body = specific("a", "ComputeBlock1")
    for _ in range(2):
        error = error_of(client.post(SYSTEMS, json=body), 503)
        assert error["code"] == "Base.1.16.ServiceTemporarilyUnavailable"
    assert client.get("/admin/state").json()["systems"] == []
    assert client.post(SYSTEMS, json=body).status_code == 201


def test_compose_then_500_leaves_the_system(client):
    client.sim.inject("compose", status=500, after_commit=True)
    error_of(client.post(SYSTEMS, json=specific("mogan-x", "ComputeBlock1")), 500)
    systems = client.sim.state()["systems"]
    assert [s["name"] for s in systems] == ["mogan-x"]
    # The client finds it by name.
    members = client.get(SYSTEMS).json()["Members"]
    assert client.get(members[0]["@odata.id"]).json()["Name"] == "mogan-x"


def test_compose_then_drop_the_connection(client):
    client.sim.inject("compose", after_commit=True, drop=True)
    with pytest.raises(requests.ConnectionError):
        client.post(SYSTEMS, json=specific("mogan-y", "ComputeBlock1"))
    assert [s["name"] for s in client.sim.state()["systems"]] == ["mogan-y"]


def test_drop_before_compose(client):
    client.sim.inject("compose", drop=True)
    with pytest.raises(requests.ConnectionError):
        client.post(SYSTEMS, json=specific("mogan-z", "ComputeBlock1"))
    assert client.sim.state()["systems"] == []


def test_task_sticks_at_202(make):
    client = make(mode="async", task_seconds=0.1)
    client.sim.inject("task", outcome="stick")
    monitor = client.post(SYSTEMS, json=specific("a", "ComputeBlock1")).headers[
        "Location"
    ]
    time.sleep(0.3)
    assert client.get(monitor).status_code == 202
    assert client.state("ComputeBlock1")["CompositionState"] == "Composing"
    # The admin reset is how a test cleans up after it.
    assert client.post("/admin/reset").status_code == 204
    assert client.state("ComputeBlock1")["CompositionState"] == "Unused"


def test_task_ends_in_failure(make):
    client = make(mode="async", task_seconds=0.1)
    client.post(
        "/admin/faults", json={"operation": "task", "outcome": "fail", "status": 500}
    )
    monitor = client.post(SYSTEMS, json=specific("a", "ComputeBlock1")).headers[
        "Location"
    ]
    time.sleep(0.3)
    error = error_of(client.get(monitor), 500)
    assert "task failed" in error["message"]
    assert client.state("ComputeBlock1")["CompositionState"] == "Unused"
    assert client.sim.state()["systems"] == []


def test_failed_compose_task_can_leave_blocks_failed(make):
    client = make(mode="async", task_seconds=0.1)
    client.sim.inject("task", outcome="fail", status=503, block_state="Failed")
    monitor = client.post(SYSTEMS, json=specific("a", "ComputeBlock1")).headers[
        "Location"
    ]
    time.sleep(0.3)
    error_of(client.get(monitor), 503)
    assert client.state("ComputeBlock1")["CompositionState"] == "Failed"
    error = error_of(client.post(SYSTEMS, json=specific("b", "ComputeBlock1")), 409)
    assert "failed" in error["message"]


def test_fail_the_next_delete(client):
    uri = client.post(SYSTEMS, json=specific("a", "ComputeBlock1")).headers["Location"]
    client.sim.inject("delete", status=500)
    error_of(client.delete(uri), 500)
    assert client.get(uri).status_code == 200
    assert client.delete(uri).status_code == 204


def test_delay(client):
    client.sim.inject("get", status=0, delay=0.5)
    uri = client.post(SYSTEMS, json=specific("a", "ComputeBlock1")).headers["Location"]
    started = time.monotonic()
    assert client.get(uri).status_code == 200
    assert time.monotonic() - started >= 0.5


def test_fault_list_and_clear(client):
    client.post("/admin/faults", json={"operation": "monitor", "count": 3})
    assert client.get("/admin/faults").json()[0]["count"] == 3
    assert client.delete("/admin/faults").status_code == 204
    assert client.get("/admin/faults").json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"operation": "explode"},
        {"operation": "compose", "count": 0},
        {"operation": "compose", "status": 200},
        {"operation": "task", "outcome": "maybe"},
        {"operation": "compose", "colour": "red"},
    ],
)
def test_bad_faults(client, body):
    error_of(client.post("/admin/faults", json=body), 400)
