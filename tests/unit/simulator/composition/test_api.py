"""The composition simulator's Redfish service, in process, its BMCs in
memory (no sushy-tools)."""

import email.utils
import time

import pytest
import requests

from mogan_valence.simulator.composition import api
from tests.unit.simulator.composition.helpers import BLOCKS
from tests.unit.simulator.composition.helpers import error_of
from tests.unit.simulator.composition.helpers import ref
from tests.unit.simulator.composition.helpers import specific

# -- reading the service ------------------------------------------------------


def test_blocks_zones_and_capabilities(client):
    cs = client.get("/redfish/v1/CompositionService").json()
    assert cs["ServiceEnabled"] is True
    blocks = client.get(cs["ResourceBlocks"]["@odata.id"]).json()["Members"]
    assert len(blocks) == 4 * 6
    compute = client.block("ComputeBlock1")
    assert compute["ResourceBlockType"] == ["Compute"]
    assert compute["CompositionStatus"] == {
        "CompositionState": "Unused",
        "Reserved": False,
        "SharingCapable": False,
    }
    assert compute["Links"]["ComputerSystems"] == []
    zone_uri = compute["Links"]["Zones"][0]["@odata.id"]
    zone = client.get(zone_uri).json()
    assert zone["ZoneType"] == "ZoneOfResourceBlocks"
    assert ref("ComputeBlock1") in zone["Links"]["ResourceBlocks"]
    assert len(client.get(cs["ResourceZones"]["@odata.id"]).json()["Members"]) == 2
    nic = client.get(compute["EthernetInterfaces"][0]["@odata.id"]).json()
    assert nic["MACAddress"]

    systems = client.get("/redfish/v1/Systems").json()
    caps = systems["@Redfish.CollectionCapabilities"]["Capabilities"]
    assert [c["UseCase"] for c in caps] == [
        "ComputerSystemComposition",
        "ComputerSystemConstrainedComposition",
    ]
    for cap in caps:
        assert cap["Links"]["TargetCollection"] == {"@odata.id": "/redfish/v1/Systems"}
        assert len(cap["Links"]["RelatedItem"]) == 2
        obj = client.get(cap["CapabilitiesObject"]["@odata.id"]).json()
        assert obj["Name@Redfish.RequiredOnCreate"] is True
    spec = client.get("/redfish/v1/Systems/Capabilities").json()
    assert spec["Links"]["@Redfish.ResourceBlockLimits"] == {
        "MinCompute": 1,
        "MaxCompute": 1,
    }


def test_only_advertised_forms(make):
    client = make(forms=("specific",))
    caps = client.get("/redfish/v1/Systems").json()["@Redfish.CollectionCapabilities"]
    assert [c["UseCase"] for c in caps["Capabilities"]] == ["ComputerSystemComposition"]
    assert (
        client.get("/redfish/v1/Systems/ConstrainedCompositionCapabilities").status_code
        == 404
    )
    r = client.post(
        "/redfish/v1/Systems",
        json={"Name": "x", "Processors": {"Members": [{"@Redfish.RequestedCount": 1}]}},
    )
    error = error_of(r, 400)
    assert error["code"].endswith("PropertyNotWritable")
    assert "Processors" in error["message"]

    client = make(forms=("constrained",))
    error = error_of(
        client.post("/redfish/v1/Systems", json=specific("x", "ComputeBlock1")), 400
    )
    assert "Links/ResourceBlocks" in error["message"]


# -- specific composition -----------------------------------------------------


def test_specific_compose_get_and_delete(client):
    r = client.post(
        "/redfish/v1/Systems",
        json=specific("mogan-1", "ComputeBlock1", "StorageBlock1", "NetworkBlock1"),
    )
    assert r.status_code == 201, r.text
    uri = r.headers["Location"]
    system = r.json()
    assert system["@odata.id"] == uri
    assert system["SystemType"] == "Composed"
    assert system["Name"] == "mogan-1"
    assert system["ProcessorSummary"] == {
        "Count": 2,
        "CoreCount": 16,
        "Model": "Intel Xeon Silver 4208",
        "Status": {"State": "Enabled", "Health": "OK"},
    }
    assert system["MemorySummary"]["TotalSystemMemoryGiB"] == 64
    assert system["PowerState"] == "Off"
    assert len(system["Links"]["ResourceBlocks"]) == 3
    assert client.get(uri).json()["Id"] == system["Id"]
    members = client.get("/redfish/v1/Systems").json()["Members"]
    assert members == [{"@odata.id": uri}]
    nics = client.get(f"{uri}/EthernetInterfaces").json()["Members"]
    macs = [client.get(n["@odata.id"]).json()["MACAddress"] for n in nics]
    assert len(macs) == 2
    drives = client.get(f"{uri}/Storage/1").json()["Drives"]
    assert client.get(drives[0]["@odata.id"]).json()["CapacityBytes"] == 480 * 10**9
    block = client.block("ComputeBlock1")
    assert block["CompositionStatus"]["CompositionState"] == "Composed"
    assert block["Links"]["ComputerSystems"] == [{"@odata.id": uri}]

    # Names are not unique: the client's idempotency key is its own business.
    r = client.post("/redfish/v1/Systems", json=specific("mogan-1", "ComputeBlock2"))
    assert r.status_code == 201

    assert client.delete(uri).status_code == 204
    assert client.state("ComputeBlock1")["CompositionState"] == "Unused"
    error_of(client.get(uri), 404)
    error_of(client.delete(uri), 404)


def test_busy_block_is_409(client):
    body = specific("a", "ComputeBlock1", "StorageBlock1")
    assert client.post("/redfish/v1/Systems", json=body).status_code == 201
    error = error_of(client.post("/redfish/v1/Systems", json=body), 409)
    assert error["code"] == "Base.1.16.ResourceInUse"
    assert "ComputeBlock1" in error["message"]


@pytest.mark.parametrize(
    "blocks, words",
    [
        # ComputeBlock2 is in zone 2, StorageBlock1 in zone 1.
        (("ComputeBlock2", "StorageBlock1"), "zone"),
        (("ComputeBlock1", "ComputeBlock3"), "exactly one Compute"),
        (("StorageBlock1",), "exactly one Compute"),
        (("ComputeBlock1", "NoSuchBlock"), "does not exist"),
        (("ComputeBlock1", "ComputeBlock1"), "twice"),
    ],
)
def test_specific_rules(client, blocks, words):
    error = error_of(
        client.post("/redfish/v1/Systems", json=specific("x", *blocks)), 400
    )
    assert words in error["message"]
    assert error["@Message.ExtendedInfo"][0]["RelatedProperties"][0].startswith(
        "#/Links/ResourceBlocks"
    )
    assert all(
        b["state"] == "Unused" for b in client.get("/admin/state").json()["blocks"]
    )


@pytest.mark.parametrize(
    "body, status, code, prop",
    [
        (b"{not json", 400, "MalformedJSON", None),
        ({"Links": {"ResourceBlocks": [ref("ComputeBlock1")]}}, 400,
         "PropertyMissing", "#/Name"),
        ({"Name": 7, "Links": {}}, 400, "PropertyValueIncorrect", "#/Name"),
        ({"Name": "x", "Links": {"ResourceBlocks": "ComputeBlock1"}}, 400,
         "PropertyValueIncorrect", "#/Links/ResourceBlocks"),
        ({"Name": "x", "Memory": {"Members": [{"CapacityMiB": 1}]}}, 400,
         "PropertyMissing", "#/Memory/Members/0/@Redfish.RequestedCount"),
        ({"Name": "x", "@Redfish.ZoneAffinity": "9"}, 400, "PropertyValueIncorrect",
         "#/@Redfish.ZoneAffinity"),
    ],
)  # fmt: skip
def test_malformed_requests(client, body, status, code, prop):
    kw = {"data": body} if isinstance(body, bytes) else {"json": body}
    error = error_of(client.post("/redfish/v1/Systems", **kw), status)
    assert error["code"] == f"Base.1.16.{code}"
    if prop:
        assert error["@Message.ExtendedInfo"][0]["RelatedProperties"] == [prop]


def test_unknown_ids_are_404(client):
    for path in (
        "/redfish/v1/Systems/nope",
        f"{BLOCKS}/nope",
        "/redfish/v1/CompositionService/ResourceZones/9",
        "/redfish/v1/TaskService/TaskMonitors/9",
        "/redfish/v1/Managers/nope",
        "/redfish/v1/Systems/nope/Actions/ComputerSystem.Reset",
    ):
        assert error_of(client.get(path), 404)["code"] == "Base.1.16.ResourceNotFound"


# -- constrained composition --------------------------------------------------


def test_constrained_picks_blocks_in_one_zone(client):
    body = {
        "Name": "big",
        "@Redfish.ZoneAffinity": "2",
        "Processors": {"Members": [{"@Redfish.RequestedCount": 4, "TotalCores": 8}]},
        "Memory": {"Members": [{"@Redfish.RequestedCount": 6, "CapacityMiB": 16384}]},
        "Storage": {
            "Members": [
                {
                    "@Redfish.RequestedCount": 1,
                    "Drives": [{"@Redfish.RequestedCount": 1, "CapacityBytes": 10**12}],
                }
            ]
        },
        "EthernetInterfaces": {
            "Members": [{"@Redfish.RequestedCount": 1, "SpeedMbps": 25000}]
        },
    }
    r = client.post("/redfish/v1/Systems", json=body)
    assert r.status_code == 201, r.text
    system = r.json()
    chosen = sorted(
        b["@odata.id"].rsplit("/", 1)[1] for b in system["Links"]["ResourceBlocks"]
    )
    # Zone 2 holds the even-numbered boards and their companions.
    assert chosen == [
        "ComputeBlock2",
        "MemoryBlock2",
        "NetworkBlock2",
        "ProcessorBlock2",
        "StorageBlock4",
    ]
    assert system["ProcessorSummary"]["Count"] == 4
    assert system["MemorySummary"]["TotalSystemMemoryGiB"] == 64 + 128
    zones = {client.block(b)["Links"]["Zones"][0]["@odata.id"] for b in chosen}
    assert zones == {"/redfish/v1/CompositionService/ResourceZones/2"}


def test_constrained_without_constraints_gets_a_compute_block(client):
    r = client.post(
        "/redfish/v1/Systems", json={"Name": "small", "@Redfish.ZoneAffinity": "1"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["Links"]["ResourceBlocks"] == [ref("ComputeBlock1")]


def test_constrained_unsatisfiable_is_409(client):
    huge = {"Name": "x", "Processors": {"Members": [{"@Redfish.RequestedCount": 64}]}}
    error = error_of(client.post("/redfish/v1/Systems", json=huge), 409)
    assert error["code"] == "Base.1.16.ResourceExhaustion"
    assert "even unused" in error["message"]
    one = {"Name": "x", "Processors": {"Members": [{"@Redfish.RequestedCount": 2}]}}
    for _ in range(4):
        assert client.post("/redfish/v1/Systems", json=one).status_code == 201
    error = error_of(client.post("/redfish/v1/Systems", json=one), 409)
    assert "in use" in error["message"]


# -- asynchronous answers -----------------------------------------------------


def test_async_compose_and_delete(make):
    client = make(mode="async", task_seconds=0.5)
    r = client.post("/redfish/v1/Systems", json=specific("a", "ComputeBlock1"))
    assert r.status_code == 202
    assert r.content == b""
    monitor = r.headers["Location"]
    assert monitor.startswith("/redfish/v1/TaskService/TaskMonitors/")
    assert client.state("ComputeBlock1")["CompositionState"] == "Composing"
    assert client.get("/redfish/v1/Systems").json()["Members"] == []
    r = client.get(monitor)
    assert r.status_code == 202
    assert email.utils.parsedate_to_datetime(r.headers["Retry-After"])
    time.sleep(0.6)
    r = client.get(monitor)
    assert r.status_code == 201
    uri = r.headers["Location"]
    assert r.json()["@odata.id"] == uri
    assert client.state("ComputeBlock1")["CompositionState"] == "Composed"

    r = client.delete(uri)
    assert r.status_code == 202
    monitor = r.headers["Location"]
    assert client.get(monitor).status_code == 202
    time.sleep(0.6)
    assert client.get(monitor).status_code == 204
    assert client.state("ComputeBlock1")["CompositionState"] == "Unused"
    error_of(client.get(uri), 404)


def test_async_retry_after_in_seconds(make):
    client = make(mode="async", retry_after="seconds")
    r = client.post("/redfish/v1/Systems", json=specific("a", "ComputeBlock1"))
    assert r.headers["Retry-After"] == "1"
    assert client.get(r.headers["Location"]).headers["Retry-After"] == "1"


# -- the Compose action and reservations --------------------------------------


def compose_target(client):
    cs = client.get("/redfish/v1/CompositionService").json()
    return cs["Actions"]["#CompositionService.Compose"]["target"]


def manifest(*requests_):
    return {
        "Stanzas": [
            {"StanzaType": "ComposeSystem", "StanzaId": f"s{n}", "Request": r}
            for n, r in enumerate(requests_)
        ]
    }


def test_compose_target_is_not_guessable(client):
    target = compose_target(client)
    assert target != "/redfish/v1/CompositionService/Actions/CompositionService.Compose"
    guessed = "/redfish/v1/CompositionService/Actions/CompositionService.Compose"
    assert client.post(guessed, json={}).status_code == 404


def test_preview_changes_nothing(client):
    body = {
        "RequestFormat": "Manifest",
        "RequestType": "Preview",
        "Manifest": manifest(specific("p", "ComputeBlock1", "StorageBlock1")),
    }
    r = client.post(compose_target(client), json=body)
    assert r.status_code == 200, r.text
    response = r.json()["Manifest"]["Stanzas"][0]["Response"]
    assert len(response["Links"]["ResourceBlocks"]) == 2
    assert "ReservationId" not in r.json()
    assert client.state("ComputeBlock1") == {
        "CompositionState": "Unused",
        "Reserved": False,
        "SharingCapable": False,
    }


def test_preview_reserve_then_apply(client):
    target = compose_target(client)
    constrained = {
        "Name": "c",
        "Processors": {"Members": [{"@Redfish.RequestedCount": 4}]},
    }
    r = client.post(
        target,
        json={
            "RequestFormat": "Manifest",
            "RequestType": "PreviewReserve",
            "Manifest": manifest(specific("s", "ComputeBlock1"), constrained),
        },
    )
    assert r.status_code == 200, r.text
    rid = r.json()["ReservationId"]
    planned = r.json()["Manifest"]["Stanzas"][1]["Response"]["Links"]["ResourceBlocks"]
    assert ref("ComputeBlock1") not in planned
    assert client.state("ComputeBlock1")["Reserved"] is True
    reservation = client.get(
        f"/redfish/v1/CompositionService/CompositionReservations/{rid}"
    ).json()
    assert ref("ComputeBlock1") in reservation["ReservedResourceBlocks"]
    error = error_of(
        client.post("/redfish/v1/Systems", json=specific("other", "ComputeBlock1")), 409
    )
    assert "reserved" in error["message"]

    r = client.post(
        target,
        json={
            "RequestFormat": "Manifest",
            "RequestType": "Apply",
            "ReservationId": rid,
        },
    )
    assert r.status_code == 200, r.text
    stanzas = r.json()["Manifest"]["Stanzas"]
    assert stanzas[1]["Response"]["Links"]["ResourceBlocks"] == planned
    assert stanzas[0]["Response"]["SystemType"] == "Composed"
    state = client.get("/admin/state").json()
    assert len(state["systems"]) == 2
    assert state["reservations"] == []
    assert not any(b["reserved"] for b in state["blocks"])
    error_of(
        client.get(f"/redfish/v1/CompositionService/CompositionReservations/{rid}"), 404
    )


def test_apply_is_all_or_nothing(client):
    impossible = {
        "Name": "x",
        "Processors": {"Members": [{"@Redfish.RequestedCount": 99}]},
    }
    r = client.post(
        compose_target(client),
        json={
            "RequestFormat": "Manifest",
            "RequestType": "Apply",
            "Manifest": manifest(specific("ok", "ComputeBlock1"), impossible),
        },
    )
    error = error_of(r, 409)
    assert error["message"].startswith("Stanza s1:")
    assert client.get("/admin/state").json()["systems"] == []


def test_apply_decompose_stanza(client):
    uri = client.post(
        "/redfish/v1/Systems", json=specific("a", "ComputeBlock1")
    ).headers["Location"]
    r = client.post(
        compose_target(client),
        json={
            "RequestFormat": "Manifest",
            "RequestType": "Apply",
            "Manifest": {
                "Stanzas": [
                    {
                        "StanzaType": "DecomposeSystem",
                        "StanzaId": "d",
                        "Request": {"@odata.id": uri},
                    }
                ]
            },
        },
    )
    assert r.status_code == 200, r.text
    error_of(client.get(uri), 404)


def test_reservation_expiry(client):
    r = client.patch(
        "/redfish/v1/CompositionService", json={"ReservationDuration": "PT0.3S"}
    )
    assert r.status_code == 200
    assert r.json()["ReservationDuration"] == "PT0.3S"
    target = compose_target(client)
    r = client.post(
        target,
        json={
            "RequestFormat": "Manifest",
            "RequestType": "PreviewReserve",
            "Manifest": manifest(specific("s", "ComputeBlock1")),
        },
    )
    rid = r.json()["ReservationId"]
    time.sleep(0.4)
    assert client.state("ComputeBlock1")["Reserved"] is False
    error = error_of(
        client.post(
            target,
            json={
                "RequestFormat": "Manifest",
                "RequestType": "Apply",
                "ReservationId": rid,
            },
        ),
        404,
    )
    assert "expired" in error["message"]
    assert client.get("/admin/state").json()["systems"] == []


def test_reservation_expire_now_and_delete(client):
    target = compose_target(client)

    def reserve(block):
        r = client.post(
            target,
            json={
                "RequestFormat": "Manifest",
                "RequestType": "PreviewReserve",
                "Manifest": manifest(specific("s", block)),
            },
        )
        return r.json()["ReservationId"]

    first, second = reserve("ComputeBlock1"), reserve("ComputeBlock2")
    r = client.post("/admin/reservations/expire", json={"ReservationId": first})
    assert r.json() == {"expired": [first]}
    assert client.state("ComputeBlock1")["Reserved"] is False
    assert client.state("ComputeBlock2")["Reserved"] is True
    uri = f"/redfish/v1/CompositionService/CompositionReservations/{second}"
    assert client.delete(uri).status_code == 204
    assert client.state("ComputeBlock2")["Reserved"] is False


@pytest.mark.parametrize(
    "body, prop",
    [
        ({"RequestType": "Apply"}, "RequestFormat"),
        ({"RequestFormat": "Manifest"}, "RequestType"),
        ({"RequestFormat": "Json", "RequestType": "Apply"}, "RequestFormat"),
        ({"RequestFormat": "Manifest", "RequestType": "Go"}, "RequestType"),
        ({"RequestFormat": "Manifest", "RequestType": "Apply"}, "Manifest"),
        ({"RequestFormat": "Manifest", "RequestType": "Apply",
          "Manifest": {"Stanzas": [{"StanzaType": "Nope", "Request": {}}]}},
         "Manifest/Stanzas/0/StanzaType"),
    ],
)  # fmt: skip
def test_compose_action_errors(client, body, prop):
    error = error_of(client.post(compose_target(client), json=body), 400)
    assert error["@Message.ExtendedInfo"][0]["RelatedProperties"] == [f"#/{prop}"]


def test_without_compose_action(make):
    client = make(compose_action=False)
    cs = client.get("/redfish/v1/CompositionService").json()
    assert "Actions" not in cs
    assert "CompositionReservations" not in cs
    error_of(client.get("/redfish/v1/CompositionService/FreePool"), 404)
    error_of(
        client.patch(
            "/redfish/v1/CompositionService", json={"ReservationDuration": "PT1S"}
        ),
        400,
    )


def test_pools(client):
    client.post("/redfish/v1/Systems", json=specific("a", "ComputeBlock1"))
    active = client.get("/redfish/v1/CompositionService/ActivePool").json()
    assert active["Members"] == [ref("ComputeBlock1")]
    free = client.get("/redfish/v1/CompositionService/FreePool").json()
    assert len(free["Members"]) == 23


def test_duration_parsing():
    assert api.parse_duration("PT300S") == 300
    assert api.parse_duration("PT3H") == 10800
    assert api.parse_duration("P1DT1M0.5S") == 86460.5
    for bad in ("300", "PT", "P", "PT1X", 5):
        with pytest.raises(Exception, match="ISO 8601"):
            api.parse_duration(bad)


# -- authentication -----------------------------------------------------------


def test_basic_auth_and_sessions(client):
    anonymous = requests.Session()
    url = client.sim.url
    assert anonymous.get(f"{url}/redfish/v1/").status_code == 200
    error_of(anonymous.get(f"{url}/redfish/v1/Systems"), 401)
    wrong = anonymous.get(f"{url}/redfish/v1/Systems", auth=("admin", "nope"))
    error_of(wrong, 401)
    sessions = f"{url}/redfish/v1/SessionService/Sessions"
    error_of(anonymous.post(sessions, json={"UserName": "admin", "Password": "x"}), 401)
    r = anonymous.post(sessions, json={"UserName": "admin", "Password": "password"})
    assert r.status_code == 201
    token = r.headers["X-Auth-Token"]
    headers = {"X-Auth-Token": token}
    assert (
        anonymous.get(f"{url}/redfish/v1/Systems", headers=headers).status_code == 200
    )
    assert (
        anonymous.delete(f"{url}{r.headers['Location']}", headers=headers).status_code
        == 204
    )
    error_of(anonymous.get(f"{url}/redfish/v1/Systems", headers=headers), 401)


def test_no_auth(make):
    client = make(username=None, password=None)
    assert requests.get(f"{client.sim.url}/redfish/v1/Systems", timeout=5).ok
