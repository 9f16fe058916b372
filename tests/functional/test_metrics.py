"""Prometheus metrics of the engine process: a composed create and delete
(Valence simulator, real Ironic, RabbitMQ), then /metrics scraped over
HTTP as Prometheus does."""

import uuid as uuidlib

from prometheus_client import parser
import pytest
import requests

from mogan_valence.common import context as mv_context
from mogan_valence.common import states
from mogan_valence.localstack import process
from tests import fixtures as mv_fixtures
from tests.functional import harness

CTX = mv_context.get_admin_context()
COMPOSITION = {"cpu_cores": 4, "ram_mib": 8192, "disk_gb": 50}
IMAGE = "http://127.0.0.1/img.qcow2"
STEPS = ("compose", "enroll", "deploy", "undeploy", "unenroll", "release")


def scrape(url: str) -> dict[tuple, float]:
    """{(sample name, sorted labels): value}."""
    body = requests.get(url, timeout=10)
    body.raise_for_status()
    assert body.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in parser.text_string_to_metric_families(body.text)
        for sample in family.samples
    }


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, transport_url, ironic):
    work = tmp_path_factory.mktemp("metrics")
    port = process.free_port()
    with mv_fixtures.running_simulator(str(work / "valence"), systems=1) as sim:
        engine = harness.EngineProcess(
            str(work / "engine"),
            transport_url,
            ironic.url,
            extensions="valence",
            extra=harness.valence_section(
                sim.url, f"metrics-{uuidlib.uuid4().hex[:8]}", retries=0
            )
            + f"\n[engine]\nmetrics_host = 127.0.0.1\nmetrics_port = {port}\n",
        )
        engine.start()
        try:
            yield {
                "api": engine.api(),
                "url": f"http://127.0.0.1:{port}/metrics",
            }
        finally:
            engine.stop()


def test_composed_create_and_delete_move_the_metrics(stack):
    api, url = stack["api"], stack["url"]
    before = scrape(url)
    api.create_flavor(CTX, "composed-metrics", composition=COMPOSITION)
    instance = api.create_instance(CTX, "metrics-1", "composed-metrics", IMAGE)
    got = harness.wait_status(api, instance.uuid, {states.ACTIVE, states.ERROR})
    assert got["instance"].status == states.ACTIVE, (
        got["fault"] and got["fault"].message
    )
    during = scrape(url)
    assert value(during, "mogan_valence_instances", state=states.ACTIVE) == 1
    api.delete_instance(CTX, instance.uuid)
    got = harness.wait_status(api, instance.uuid, {states.DELETED, states.ERROR})
    assert got["instance"].status == states.DELETED
    after = scrape(url)

    for step in STEPS:
        labels = {"step": step, "backend": "valence"}
        name = "mogan_valence_step_duration_seconds_count"
        assert value(after, name, **labels) == value(before, name, **labels) + 1, step
        total = value(after, "mogan_valence_step_duration_seconds_sum", **labels)
        assert total > 0, step
        outcomes = {"step": step, "outcome": "success", "error": ""}
        name = "mogan_valence_step_outcomes_total"
        assert value(after, name, **outcomes) == value(before, name, **outcomes) + 1
    assert value(after, "mogan_valence_instances", state=states.ACTIVE) == 0
    assert value(after, "mogan_valence_instances", state=states.DELETED) == 1
    # Nothing in flight once both ended; the pod manager composed once.
    assert value(after, "mogan_valence_flows_in_flight", kind="create") == 0
    assert value(after, "mogan_valence_flows_in_flight", kind="delete") == 0
    composing = [key for key in after if key[0] == "mogan_valence_composes_in_flight"]
    assert composing, "no compose was counted per pod manager"
    assert all(after[key] == 0 for key in composing)
