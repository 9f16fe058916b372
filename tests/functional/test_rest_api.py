"""python-moganclient 0.1.0 drives the REST API (mogan-valence-api, noauth)
in front of the engine, the real Ironic, RabbitMQ and the simulator: a
composed server created, shown ACTIVE, listed, powered off and on, and
deleted over REST."""

import uuid as uuidlib

import pytest
import requests
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session
from moganclient.common import exceptions as mogan_exc
from moganclient.v1 import client as mogan_client

from tests.functional import harness
from tests.functional import moganclient_steps as steps

IMAGE = "http://images.example.com/img.qcow2"
NET = "c1940655-8b8e-4370-b8f9-03ba1daeca31"


@pytest.fixture(scope="module")
def stack(tmp_path_factory, transport_url, ironic):
    with harness.api_stack(
        tmp_path_factory.mktemp("rest"), transport_url, ironic.url, "rest"
    ) as found:
        yield found


def _client(url: str) -> mogan_client.Client:
    return mogan_client.Client(
        endpoint=url, session=ks_session.Session(auth=noauth.NoAuth())
    )


def test_moganclient_composed_server_end_to_end(stack, ironic):
    api = stack["api"]
    mogan = _client(api.url)
    # A composed flavor: the composition is this service's own field.
    answer = requests.post(
        f"{api.url}/flavors",
        json={"name": "composed-rest", "composition": {"cpu_cores": 2}},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    flavor = mogan.flavor.get(answer.json()["uuid"])
    assert flavor.name == "composed-rest"
    assert "composed-rest" in [f.name for f in mogan.flavor.list()]
    plain = mogan.flavor.create(
        name="plain-rest",
        resource={"CUSTOM_REST": "1"},
        resource_aggregate=None,
        is_public=True,
        disabled=False,
        description=None,
    )
    assert plain.resources == {"CUSTOM_REST": 1}

    server = mogan.server.create(
        name="rest-1",
        image_uuid=IMAGE,
        flavor_uuid=flavor.uuid,
        networks=[{"net_id": NET}],
        metadata={"k": "v"},
    )
    assert server.status == "building"
    shown = steps.wait_server(mogan, server.uuid, {"active", "error"})
    assert shown.status == "active", getattr(shown, "fault", None)
    assert shown.metadata == {"k": "v"}
    assert shown.addresses == {}
    assert shown.power_state == "power on"
    assert [s.uuid for s in mogan.server.list()] == [server.uuid]
    assert [s.image_uuid for s in mogan.server.list(detailed=True)] == [IMAGE]
    [node_uuid] = list(stack["sim"].state.nodes)
    assert ironic.client().node.get(node_uuid).instance_uuid == server.uuid

    with pytest.raises(mogan_exc.NotFound):
        mogan.server.get(str(uuidlib.uuid4()))
    with pytest.raises(mogan_exc.Conflict):
        mogan.flavor.delete(flavor.uuid)
    with pytest.raises(mogan_exc.BadRequest):
        mogan.server.create(
            name="bad",
            image_uuid="file:///etc/shadow",
            flavor_uuid=flavor.uuid,
            networks=[{"net_id": NET}],
        )

    # Power off and on through PUT /states/power (the 0.1.0 client has no
    # call for it; its OSC plugin sends this same request).
    session = ks_session.Session(auth=noauth.NoAuth())
    steps.power_off_and_on(mogan, session, api.url, server.uuid)
    assert ironic.client().node.get(node_uuid).power_state == "power on"

    steps.delete_and_wait_gone(mogan, server.uuid)
    assert stack["sim"].state.nodes == {}
    assert ironic.client().node.list(resource_class=stack["class"]) == []
    mogan.flavor.delete(flavor.uuid)
    mogan.flavor.delete(plain.uuid)
    assert "composed-rest" not in [f.name for f in mogan.flavor.list()]


def test_over_quota_is_403_and_nothing_is_composed(stack, ironic):
    api = stack["api"]
    mogan = _client(api.url)
    session = ks_session.Session(auth=noauth.NoAuth())
    project = "00000000-0000-4000-8000-000000000000"  # [api] noauth_project_id
    flavor = session.post(
        f"{api.url}/flavors",
        json={"name": "composed-quota", "composition": {"cpu_cores": 2}},
    ).json()
    quota = f"{api.url}/quotas/{project}"
    answer = session.put(quota, json={"quota": {"cores": 3}})
    assert answer.json()["quota"]["cores"] == {
        "limit": 3,
        "in_use": 0,
        "default": False,
    }
    first = mogan.server.create(
        name="q-1", image_uuid=IMAGE, flavor_uuid=flavor["uuid"], networks=[]
    )
    with pytest.raises(mogan_exc.Forbidden) as refused:
        mogan.server.create(
            name="q-2", image_uuid=IMAGE, flavor_uuid=flavor["uuid"], networks=[]
        )
    assert "cores" in str(refused.value)
    assert "2 of 3 in use" in str(refused.value)
    shown = steps.wait_server(mogan, first.uuid, {"active", "error"})
    assert shown.status == "active", getattr(shown, "fault", None)
    # One node composed, for the one server that fits.
    assert len(stack["sim"].state.nodes) == 1
    assert [s.name for s in mogan.server.list()] == ["q-1"]
    mogan.server.delete(first.uuid)
    steps.poll(
        lambda: session.get(quota).json()["quota"]["cores"]["in_use"], lambda n: n == 0
    )
    session.put(quota, json={"quota": {"cores": None}})
    steps.poll(lambda: stack["sim"].state.nodes, lambda nodes: nodes == {})
    mogan.flavor.delete(flavor["uuid"])
