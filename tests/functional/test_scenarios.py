"""The tempest-plugin scenarios, run against the stack this suite starts: the
engine (real Ironic, RabbitMQ, the Valence simulator) behind two
mogan-valence-api processes, one behind a real Keystone (whose catalog names
it as baremetal_compute) and one noauth (the embedded stack's mode).

The scenarios reach the API only, as tenants do; an admin makes the flavors
first. The same classes run against an existing deployment from tempest or
with MOGAN_VALENCE_DEPLOYMENT_CONF (see the README).
"""

import os

import pytest

from mogan_valence.localstack import keystone as local_keystone
from mogan_valence.tempest_plugin import deployment
from mogan_valence.tempest_plugin.tests.scenario import test_instances
from tests.functional import harness

IMAGE = "http://images.example.com/img.qcow2"
PROJECTS = ["service", "project-a", "project-b"]
USERS = {
    "mogan": ("service", "service"),
    "alice": ("project-a", "member"),
    "bob": ("project-b", "member"),
}


def _admin_post(session, url, body):
    answer = session.post(url, json=body, raise_exc=False)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _register_in_catalog(admin, api_url: str) -> None:
    identity = {"service_type": "identity", "interface": "public"}
    service = admin.post(
        "/services",
        json={"service": {"type": "baremetal_compute", "name": "mogan"}},
        endpoint_filter=identity,
    ).json()["service"]
    for interface in ("public", "internal"):
        admin.post(
            "/endpoints",
            json={
                "endpoint": {
                    "service_id": service["id"],
                    "interface": interface,
                    "region_id": "RegionOne",
                    "url": api_url,
                }
            },
            endpoint_filter=identity,
        )


@pytest.fixture(scope="module", autouse=True)
def local_deployment(tmp_path_factory, transport_url, ironic, keystone):
    work = tmp_path_factory.mktemp("scenarios")
    keystone.seed(PROJECTS, USERS)
    engine, sim, composed_class = harness.composed_engine(
        work, transport_url, ironic.url, 2, "scenario"
    )
    preset_class = f"scenario-preset-{composed_class.rsplit('-', 1)[-1]}"
    ironic.enroll_fake_nodes(2, preset_class, prefix=preset_class)
    api = harness.ApiProcess(
        engine, extra="auth_strategy = keystone\n" + keystone.authtoken_section()
    )
    noauth_api = harness.ApiProcess(
        engine, "auth_strategy = noauth\n", name="api-noauth"
    )
    try:
        api.start()
        noauth_api.start()
        admin = keystone.session()
        _register_in_catalog(admin, api.url)
        # Flavors are an admin's: made here, used by name in the scenarios.
        _admin_post(
            admin,
            f"{api.url}/flavors",
            {"name": "scenario-composed", "composition": {"cpu_cores": 2}},
        )
        _admin_post(
            admin,
            f"{api.url}/flavors",
            {"name": "scenario-preset", "resources": {preset_class: "1"}},
        )
        common = (
            f"ironic_endpoint = {ironic.url}\nvalence_url = {sim.url}\n"
            "composed_flavor = scenario-composed\n"
            f"composed_resource_class = {composed_class}\n"
            f"image_source = {IMAGE}\n"
            "build_timeout = 120\nbuild_interval = 0.2\n"
        )
        keystone_conf = work / "deployment.conf"
        keystone_conf.write_text(
            "[mogan_valence]\n"
            f"auth_url = {keystone.url}\nregion_name = RegionOne\n"
            "username = alice\npassword = alicepw\nproject_name = project-a\n"
            "alt_username = bob\nalt_password = bobpw\n"
            "alt_project_name = project-b\n"
            "admin_username = admin\n"
            f"admin_password = {local_keystone.ADMIN_PASSWORD}\n"
            "admin_project_name = admin\n"
            "preset_flavor = scenario-preset\n" + common
        )
        noauth_conf = work / "deployment-noauth.conf"
        noauth_conf.write_text(
            f"[mogan_valence]\nauth_type = none\nendpoint = {noauth_api.url}\n" + common
        )
        old = os.environ.get(deployment.ENV)
        os.environ[deployment.ENV] = str(keystone_conf)
        for cls in (TestNoauthComposed, TestNoauthBadInput):
            cls.conf_file = str(noauth_conf)
        yield {"engine": engine, "sim": sim, "composed_class": composed_class}
        if old is None:
            os.environ.pop(deployment.ENV, None)
        else:
            os.environ[deployment.ENV] = old
        harness.assert_nothing_leaked(engine.api(), ironic, sim, composed_class)
    finally:
        noauth_api.stop()
        api.stop()
        engine.stop()
        sim.cleanUp()


# Behind Keystone, through the catalog, as alice (member of project-a); bob
# (member of project-b) is the other tenant.


class TestComposed(test_instances.ComposedInstanceTest):
    pass


class TestPreset(test_instances.PresetInstanceTest):
    pass


class TestTenantIsolation(test_instances.TenantIsolationTest):
    pass


class TestBadInput(test_instances.BadInputTest):
    pass


# noauth, endpoint only: every request is an admin's (flavor checks run).


class TestNoauthComposed(test_instances.ComposedInstanceTest):
    pass


class TestNoauthBadInput(test_instances.BadInputTest):
    pass
