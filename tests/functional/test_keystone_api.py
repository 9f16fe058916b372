"""The REST API behind a real Keystone (SQLite, fernet, keystonemiddleware):
tokens, and a policy matrix over the endpoints x who is asking."""

import time

import pytest
import requests
from moganclient.v1 import client as mogan_client

from mogan_valence.common import states
from mogan_valence.localstack import keystone as local_keystone
from tests.functional import harness
from tests.functional import moganclient_steps as steps

IMAGE = "http://images.example.com/img.qcow2"
PROJECTS = ["service", "project-a", "project-b"]
USERS = {
    "mogan": ("service", "service"),
    "alice": ("project-a", "member"),
    "carol": ("project-a", "reader"),
    "bob": ("project-b", "member"),
}


def _keystone_api(engine, keystone, name="api") -> harness.ApiProcess:
    """An API in front of ``engine`` that trusts only ``keystone``."""
    api = harness.ApiProcess(
        engine,
        name=name,
        extra="auth_strategy = keystone\n" + keystone.authtoken_section(),
    )
    api.start()
    return api


@pytest.fixture(scope="module")
def stack(tmp_path_factory, transport_url, ironic, keystone):
    ids = keystone.seed(PROJECTS, USERS)
    work = tmp_path_factory.mktemp("keystone-api")
    engine = harness.EngineProcess(str(work / "engine"), transport_url, ironic.url)
    engine.start()
    api = _keystone_api(engine, keystone)
    sessions = {
        "admin": keystone.session(),
        "alice": keystone.session("alice", "alicepw", "project-a"),
        "carol": keystone.session("carol", "carolpw", "project-a"),
        "bob": keystone.session("bob", "bobpw", "project-b"),
        "system": keystone.session(system=True),
    }
    tokens = {who: s.get_token() for who, s in sessions.items()}
    yield {"api": api, "tokens": tokens, "sessions": sessions, "ids": ids}
    api.stop()
    engine.stop()


def _call(stack, who, method, path, body=None):
    headers = {"X-Auth-Token": stack["tokens"][who]} if who else {}
    return requests.request(
        method, f"{stack['api'].url}{path}", json=body, headers=headers, timeout=60
    )


def _wait_active(stack, uuid):
    got = harness.wait_status(
        stack["api"].engine.api(), uuid, {states.ACTIVE, states.ERROR}
    )
    assert got["instance"].status == states.ACTIVE, got["fault"]


def test_tokens(stack):
    assert _call(stack, None, "GET", "/flavors").status_code == 401
    answer = requests.get(
        f"{stack['api'].url}/flavors", headers={"X-Auth-Token": "bogus"}, timeout=30
    )
    assert answer.status_code == 401
    # A caller's own identity headers are not believed.
    answer = requests.get(
        f"{stack['api'].url}/servers?all_tenants=True",
        headers={
            "X-Auth-Token": stack["tokens"]["bob"],
            "X-Roles": "admin",
            "X-Project-Id": stack["ids"]["projects"]["project-a"],
        },
        timeout=30,
    )
    assert answer.status_code == 403
    # The version documents need no token.
    assert requests.get(stack["api"].url, timeout=30).status_code == 200


def test_an_expired_token_is_401(stack, tmp_path_factory):
    # A Keystone of its own whose tokens live 5 s, trusted by an API of its own.
    short = local_keystone.LocalKeystone(
        str(tmp_path_factory.mktemp("keystone-short")), token_expiration=5
    )
    short.start()
    try:
        short.seed(PROJECTS, USERS)
        api = _keystone_api(stack["api"].engine, short, name="api-short-tokens")
        try:
            token = short.session("alice", "alicepw", "project-a").get_token()
            url = f"{api.url}/servers"
            answer = requests.get(url, headers={"X-Auth-Token": token}, timeout=30)
            assert answer.status_code == 200, answer.text
            time.sleep(7)
            answer = requests.get(url, headers={"X-Auth-Token": token}, timeout=30)
            assert answer.status_code == 401, answer.text
            # A token of another Keystone means nothing here either.
            answer = requests.get(
                url, headers={"X-Auth-Token": stack["tokens"]["alice"]}, timeout=30
            )
            assert answer.status_code == 401, answer.text
        finally:
            api.stop()
    finally:
        short.stop()


def test_policy_matrix(stack, ironic, resource_class):
    ironic.enroll_fake_nodes(4, resource_class, prefix=resource_class)
    flavor = _call(
        stack,
        "admin",
        "POST",
        "/flavors",
        {"name": f"pub-{resource_class}", "resources": {resource_class: "1"}},
    ).json()
    private = _call(
        stack,
        "admin",
        "POST",
        "/flavors",
        {
            "name": f"priv-{resource_class}",
            "is_public": False,
            "resources": {resource_class: 1},
        },
    ).json()
    server = _call(
        stack,
        "alice",
        "POST",
        "/servers",
        {"server": {"name": "a-1", "image_uuid": IMAGE, "flavor_uuid": flavor["uuid"]}},
    ).json()
    _wait_active(stack, server["uuid"])
    new_server = {
        "server": {"name": "m", "image_uuid": IMAGE, "flavor_uuid": flavor["uuid"]}
    }
    rename = [{"op": "replace", "path": "/description", "value": "changed"}]
    s, f, p = server["uuid"], flavor["uuid"], private["uuid"]
    a = stack["ids"]["projects"]["project-a"]
    b = stack["ids"]["projects"]["project-b"]
    on = {"target": "on"}
    guest = "c0ffee00000040008000000000000001"
    share = {"tenant_id": guest}
    limits = {"quota": {"servers": 20}}
    who = ("admin", "alice", "carol", "bob", "system")
    # (method, path, body) -> expected status for each of ``who``.
    matrix = [
        (("GET", "/flavors", None), (200, 200, 200, 200, 403)),
        (("GET", f"/flavors/{f}", None), (200, 200, 200, 200, 403)),
        (("GET", f"/flavors/{p}", None), (200, 404, 404, 404, 403)),
        (("GET", f"/flavors/{p}/access", None), (200, 404, 404, 404, 403)),
        (("POST", "/flavors", {"name": "x"}), (400, 403, 403, 403, 403)),
        (("PATCH", f"/flavors/{f}", rename), (200, 403, 403, 403, 403)),
        (("DELETE", f"/flavors/{f}", None), (409, 403, 403, 403, 403)),
        (("GET", "/servers", None), (200, 200, 200, 200, 403)),
        (("GET", "/servers/detail", None), (200, 200, 200, 200, 403)),
        (("GET", "/servers?all_tenants=True", None), (200, 403, 403, 403, 403)),
        (("GET", f"/servers/{s}", None), (200, 200, 200, 404, 403)),
        (("GET", f"/servers/{s}/states", None), (200, 200, 200, 404, 403)),
        (("DELETE", f"/servers/{s}", None), (None, None, 403, 404, 403)),
        (("POST", "/servers", new_server), (201, 201, 403, 201, 403)),
        # One power action at a time: a second one while the first runs is 409.
        (("PUT", f"/servers/{s}/states/power", on), (None, 202, 403, 404, 403)),
        (("POST", f"/flavors/{p}/access", share), (204, 404, 404, 404, 403)),
        (("DELETE", f"/flavors/{p}/access/{guest}", None), (204, 404, 404, 404, 403)),
        (("POST", f"/flavors/{f}/access", share), (409, 403, 403, 403, 403)),
        (("GET", f"/quotas/{a}", None), (200, 200, 200, 404, 403)),
        (("GET", f"/quotas/{b}", None), (200, 404, 404, 200, 403)),
        (("PUT", f"/quotas/{a}", limits), (200, 403, 403, 404, 403)),
    ]
    seen = {}
    for (method, path, body), expected in matrix:
        for identity, status in zip(who, expected, strict=True):
            if status is None:
                continue  # below, or (the owner's delete) at the end
            answer = _call(stack, identity, method, path, body)
            seen[(method, path, identity)] = (answer.status_code, status)
    wrong = {k: v for k, v in seen.items() if v[0] != v[1]}
    assert wrong == {}, "(got, expected) where they differ"

    # B saw, changed and deleted nothing of A's.
    listed = _call(stack, "bob", "GET", "/servers/detail").json()["servers"]
    assert s not in [x["uuid"] for x in listed]
    assert all(x["project_id"] == stack["ids"]["projects"]["project-b"] for x in listed)
    shown = _call(stack, "alice", "GET", f"/servers/{s}").json()
    assert shown["status"] == "active"
    assert shown["project_id"] == stack["ids"]["projects"]["project-a"]

    # The Python client with a Keystone session sees the same.
    mogan = mogan_client.Client(
        endpoint=stack["api"].url, session=stack["sessions"]["alice"]
    )
    assert s in [x.uuid for x in mogan.server.list()]
    assert p not in [x.uuid for x in mogan.flavor.list()]

    # Clean up: every server goes, by its owner or an admin.
    everything = _call(stack, "admin", "GET", "/servers?all_tenants=True").json()
    for x in everything["servers"]:
        _wait_active(stack, x["uuid"])
        owner = "alice" if x["uuid"] == s else "admin"
        answer = _call(stack, owner, "DELETE", f"/servers/{x['uuid']}")
        assert answer.status_code == 204, answer.text
    steps.poll(
        lambda: _call(stack, "admin", "GET", "/servers?all_tenants=True").json()[
            "servers"
        ],
        lambda servers: not servers,
    )
    assert _call(stack, "admin", "DELETE", f"/flavors/{p}").status_code == 204
    assert _call(stack, "admin", "DELETE", f"/flavors/{f}").status_code == 204
