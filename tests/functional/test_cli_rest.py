"""The real ``mogan-valence`` CLI, as a subprocess, against the real REST API
(mogan-valence-api, noauth) in front of the engine, the real Ironic,
RabbitMQ and the simulator: a composed server created, listed, shown,
powered off and on, and deleted."""

import json

import pytest

from tests.functional import harness

IMAGE = "http://images.example.com/img.qcow2"


@pytest.fixture(scope="module")
def stack(tmp_path_factory, transport_url, ironic):
    with harness.api_stack(
        tmp_path_factory.mktemp("cli-rest"), transport_url, ironic.url, "cli"
    ) as found:
        yield found


def test_composed_server_through_the_cli(stack, ironic):
    api = stack["api"]
    created = api.cli(
        "flavor",
        "create",
        "cli-composed",
        "--composition",
        "cpu_cores=2",
        "ram_mib=4096",
        "--description",
        "two cores",
        "-f",
        "json",
    )
    flavor = json.loads(created.stdout)
    assert flavor["composition"] == {"cpu_cores": 2, "ram_mib": 4096}
    listed = json.loads(api.cli("flavor", "list", "-f", "json").stdout)
    assert "cli-composed" in [f["name"] for f in listed]

    created = api.cli(
        "server",
        "create",
        "cli-web",
        "--flavor",
        "cli-composed",
        "--image",
        IMAGE,
        "--wait",
        "-f",
        "json",
    )
    server = json.loads(created.stdout)
    assert server["status"] == "active", created.stderr
    assert server["composed"] is True
    assert "cli-web: active" in created.stderr
    assert server["flavor_uuid"] == flavor["uuid"]

    listed = json.loads(api.cli("server", "list", "-f", "json").stdout)
    assert [(s["uuid"], s["status"]) for s in listed] == [(server["uuid"], "active")]
    status = api.cli("server", "show", "cli-web", "-c", "status", "-f", "value")
    assert status.stdout == "active\n"
    table = api.cli("server", "list", "--long").stdout.splitlines()
    assert [c.strip() for c in table[1].strip("|").split("|")][:3] == [
        "uuid",
        "name",
        "status",
    ]
    [node_uuid] = list(stack["sim"].state.nodes)
    assert ironic.client().node.get(node_uuid).instance_uuid == server["uuid"]

    for action, power_state in (("off", "power off"), ("on", "power on")):
        api.cli("server", "power", action, "cli-web", "--wait")
        shown = api.cli(
            "server", "show", server["uuid"], "-c", "power_state", "-f", "value"
        )
        assert shown.stdout.strip() == power_state

    deleted = api.cli("server", "delete", "cli-web", "--wait")
    assert deleted.returncode == 0
    gone = api.cli("server", "show", server["uuid"], check=False)
    assert gone.returncode == 1
    assert f"No server with a name or UUID of '{server['uuid']}'" in gone.stderr
    assert stack["sim"].state.nodes == {}
    assert ironic.client().node.list(resource_class=stack["class"]) == []
    api.cli("flavor", "delete", "cli-composed")


def test_errors_are_one_clear_line(stack):
    api = stack["api"]
    bad = api.cli(
        "server",
        "create",
        "x",
        "--flavor",
        "no-such-flavor",
        "--image",
        IMAGE,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip() == (
        "No flavor with a name or UUID of 'no-such-flavor' exists."
    )
    refused = api.cli(
        "flavor", "create", "bad", "--composition", "cpu_cores=-3", check=False
    )
    assert refused.returncode == 1
    assert "(HTTP 400)" in refused.stderr
    assert "Traceback" not in refused.stderr
    nowhere = harness.cli(
        "flavor", "list", endpoint="http://127.0.0.1:9/v1", check=False
    )
    assert nowhere.returncode == 1
    assert "cannot reach the API" in nowhere.stderr
