"""Helpers of the composition simulator's unit tests."""

import requests

from mogan_valence.simulator.composition import server

BLOCKS = "/redfish/v1/CompositionService/ResourceBlocks"


def ref(block_id):
    return {"@odata.id": f"{BLOCKS}/{block_id}"}


def specific(name, *block_ids):
    return {"Name": name, "Links": {"ResourceBlocks": [ref(b) for b in block_ids]}}


class Client:
    def __init__(self, sim):
        self.sim = sim
        self.session = requests.Session()
        self.session.auth = (sim.username, sim.password)

    def __getattr__(self, method):
        def call(path, **kw):
            kw.setdefault("timeout", 10)
            return self.session.request(method.upper(), self.sim.url + path, **kw)

        return call

    def block(self, block_id):
        return self.get(f"{BLOCKS}/{block_id}").json()

    def state(self, block_id):
        return self.block(block_id)["CompositionStatus"]


def _make_fixture():
    sims = []

    def start(**options):
        options.setdefault("emulator", False)
        options.setdefault("task_seconds", 0.3)
        sim = server.CompositionSimulator(server.Options(**options))
        sim.start()
        sims.append(sim)
        return Client(sim)

    yield start
    for sim in sims:
        sim.stop()


def error_of(response, status):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["@Message.ExtendedInfo"][0]["MessageId"] == error["code"]
    return error
