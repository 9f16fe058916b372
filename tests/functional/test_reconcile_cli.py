"""``mogan-valence reconcile`` against the real Ironic and the simulator."""

import json
import sqlite3
import subprocess
import uuid as uuidlib

from tests import fixtures as mv_fixtures
from tests.functional import harness


def test_reconcile_dry_run_then_for_real(tmp_path, ironic):
    sim = mv_fixtures.Simulator(str(tmp_path / "valence"), systems=3)
    sim.setUp()
    try:
        conf = tmp_path / "engine.conf"
        conf.write_text(
            f"[database]\nconnection = sqlite:///{tmp_path}/engine.sqlite\n"
            f"[ironic]\nauth_type = none\nendpoint_override = {ironic.url}\n"
            f"[valence]\nurl = {sim.url}\npodm_id = {mv_fixtures.PODM_ID}\n"
            "reconcile_grace_period = 0\ndeployment_id = test\n"
        )
        subprocess.run(
            [
                harness._bin("mogan-valence-dbsync"),
                "--config-file",
                str(conf),
                "upgrade",
            ],
            check=True,
            capture_output=True,
        )
        client = sim.client()
        gone = str(uuidlib.uuid4())
        # An instance of this deployment that failed, leaving its node.
        with sqlite3.connect(tmp_path / "engine.sqlite") as db:
            db.execute(
                "INSERT INTO instances (uuid, name, status, composed, created_at) "
                "VALUES (?, 'gone', 'error', 1, CURRENT_TIMESTAMP)",
                (gone,),
            )
        leaked = client.compose_node(
            f"mogan-{gone}", mv_fixtures.PODM_ID, properties={}
        )["uuid"]
        ironic.client().node.create(
            driver="fake-hardware",
            uuid=leaked,
            extra={"mogan_valence": {"instance_uuid": gone, "deployment": "test"}},
        )
        foreign = client.compose_node("not-ours", mv_fixtures.PODM_ID, properties={})[
            "uuid"
        ]
        # Another deployment's node on the same Valence: its instance is not
        # in this deployment's database.
        theirs = client.compose_node(
            f"mogan-{uuidlib.uuid4()}", mv_fixtures.PODM_ID, properties={}
        )["uuid"]

        def reconcile(*args):
            result = subprocess.run(
                [
                    harness._bin("mogan-valence"),
                    "reconcile",
                    "--config-file",
                    str(conf),
                    "-f",
                    "json",
                    *args,
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert result.returncode == 0, result.stderr
            return json.loads(result.stdout)

        planned = reconcile("--dry-run")
        assert [(a["action"], a["node"], a["result"]) for a in planned] == [
            ("unenroll", leaked, "planned"),
            ("release", leaked, "planned"),
        ]
        assert "is in ERROR" in planned[0]["reason"]
        assert leaked in sim.state.nodes

        done = reconcile()
        assert [a["result"] for a in done] == ["done", "done"]
        assert set(sim.state.nodes) == {foreign, theirs}
        assert [n for n in ironic.client().node.list() if n.uuid == leaked] == []
        assert reconcile() == []
    finally:
        sim.cleanUp()
