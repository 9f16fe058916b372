"""The tempest-plugin scenarios, run against the stack this suite starts.

The same classes run against an existing deployment from tempest or with
MOGAN_VALENCE_DEPLOYMENT_CONF (see the README).
"""

import os
import uuid as uuidlib

import pytest

from mogan_valence.common import context as mv_context
from mogan_valence.tempest_plugin import deployment
from mogan_valence.tempest_plugin.tests.scenario import test_instances
from tests import fixtures as mv_fixtures
from tests.functional import harness


@pytest.fixture(scope="module", autouse=True)
def local_deployment(tmp_path_factory, transport_url, ironic):
    work = tmp_path_factory.mktemp("scenarios")
    sim = mv_fixtures.Simulator(str(work / "valence"), systems=2)
    sim.setUp()
    composed_class = f"scenario-{uuidlib.uuid4().hex[:8]}"
    preset_class = f"scenario-preset-{uuidlib.uuid4().hex[:8]}"
    ironic.enroll_fake_nodes(1, preset_class, prefix=preset_class)
    extra = harness.valence_section(sim.url, composed_class)
    engine = harness.EngineProcess(
        str(work / "engine"),
        transport_url,
        ironic.url,
        extensions="valence",
        extra=extra,
    )
    engine.start()
    api = engine.api()
    ctx = mv_context.get_admin_context()
    api.create_flavor(ctx, "scenario-composed", composition={"cpu_cores": 2})
    api.create_flavor(ctx, "scenario-preset", resources={preset_class: 1})
    conf = work / "deployment.conf"
    conf.write_text(
        "[mogan_valence]\n"
        f"transport_url = {transport_url}\nengine_host = {engine.host}\n"
        f"engine_topic = {engine.topic}\nironic_endpoint = {ironic.url}\n"
        f"valence_url = {sim.url}\ncomposed_flavor = scenario-composed\n"
        f"composed_resource_class = {composed_class}\n"
        "preset_flavor = scenario-preset\n"
        "image_source = http://127.0.0.1/img.qcow2\n"
        "build_timeout = 120\nbuild_interval = 0.2\n"
    )
    old = os.environ.get(deployment.ENV)
    os.environ[deployment.ENV] = str(conf)
    yield
    if old is None:
        os.environ.pop(deployment.ENV, None)
    else:
        os.environ[deployment.ENV] = old
    engine.stop()
    sim.cleanUp()


class TestComposed(test_instances.ComposedInstanceTest):
    pass


class TestPreset(test_instances.PresetInstanceTest):
    pass


class TestBadInput(test_instances.BadInputTest):
    pass
