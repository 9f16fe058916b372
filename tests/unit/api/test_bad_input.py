"""Every field of every request body, given a wrong type, too long a value
or a neighbour it does not know: 400 naming the field, nothing written.

The cases are walked from the API's own JSON Schemas, so a field added to a
schema is covered here without another line.
"""

import copy

from mogan_valence.api.schemas import flavors as flavor_schema
from mogan_valence.api.schemas import quotas as quota_schema
from mogan_valence.api.schemas import servers as server_schema
from mogan_valence.objects import flavor as flavor_obj
from mogan_valence.objects import instance as instance_obj
from mogan_valence.objects import quota as quota_obj
from tests.unit.api import test_api

UNKNOWN = "bogus_key"


def _types(schema: dict) -> set:
    kind = schema.get("type", ())
    return {kind} if isinstance(kind, str) else set(kind)


def _wrong_type(schema: dict):
    """A value of a JSON type the field does not take."""
    return {"x": 1} if "array" in _types(schema) else [1, 2]


def _set(body, path, value):
    body = copy.deepcopy(body)
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


def cases(schema: dict, good, path=()):
    """(field path, bad body) for every field under ``schema``."""
    if schema.get("type") == "array" and "items" in schema and good:
        yield from cases(schema["items"], good, path + (0,))
        return
    if schema.get("additionalProperties") is False:
        yield path + (UNKNOWN,), _set(good, path + (UNKNOWN,), 1)
    for name, sub in schema.get("properties", {}).items():
        if sub == {}:
            continue  # anything goes (a patch's value: checked per path below)
        here = path + (name,)
        yield here, _set(good, here, _wrong_type(sub))
        if "maxLength" in sub:
            yield here, _set(good, here, "x" * (sub["maxLength"] + 1))
        inner = good
        for key in here:
            inner = inner.get(key) if isinstance(inner, dict) else None
        if isinstance(inner, dict | list) and inner:
            yield from cases(sub, good, here)


class TestEveryField(test_api.ApiTestCase):
    def snapshot(self):
        return (
            [
                (f.uuid, f.name, f.description, f.is_public, f.disabled)
                for f in flavor_obj.Flavor.list(None)
            ],
            [
                (i.uuid, i.name, i.status, i.power_state)
                for i in instance_obj.Instance.list(None)
            ],
            quota_obj.Quota.get(
                None, test_api.PROJECT_A, {r: 0 for r in quota_obj.RESOURCES}
            ).limits,
        )

    def assertRefused(self, method, path, schema, good):
        count = 0
        before = self.snapshot()
        for field, body in cases(schema, good):
            response, answer = self.call("admin", method, path, body)
            name = str(field[-1])
            self.assertEqual(400, response.status_code, (field, body, answer))
            self.assertIn(name, self.fault(answer), field)
            count += 1
        self.assertEqual(before, self.snapshot())
        return count

    def test_flavor_create(self):
        good = {
            "name": "good",
            "description": "d",
            "resources": {"baremetal": 1},
            "resource_aggregates": {"k": "v"},
            "resource_traits": {},
            "composition": None,
            "is_public": True,
            "disabled": False,
        }
        self.assertGreater(
            self.assertRefused("POST", "/v1/flavors", flavor_schema.CREATE, good), 10
        )

    def test_flavor_update_and_access(self):
        private = self.call(
            "admin",
            "POST",
            "/v1/flavors",
            {"name": "p", "is_public": False, "resources": {"baremetal": 1}},
        )[1]["uuid"]
        path = f"/v1/flavors/{private}"
        good = [{"op": "replace", "path": "/name", "value": "n"}]
        self.assertRefused("PATCH", path, flavor_schema.PATCH, good)
        # The value of each patchable path.
        for field, value in (
            ("name", "n" * 256),
            ("name", 3),
            ("description", ["d"]),
            ("is_public", "maybe"),
            ("disabled", [True]),
        ):
            ops = [{"op": "replace", "path": f"/{field}", "value": value}]
            response, answer = self.call("admin", "PATCH", path, ops)
            self.assertEqual(400, response.status_code, (field, value))
            self.assertIn(field, self.fault(answer))
        self.assertRefused(
            "POST", f"{path}/access", flavor_schema.ACCESS, {"tenant_id": "p"}
        )
        self.assertEqual(
            [], self.call("admin", "GET", f"{path}/access")[1]["flavor_access"]
        )

    def test_server_create_and_power(self):
        flavor = self.public_flavor()["uuid"]
        good = {
            "server": {
                "name": "s",
                "description": "d",
                "image_uuid": test_api.IMAGE,
                "flavor_uuid": flavor,
                "networks": [{"net_id": "c1940655-8b8e-4370-b8f9-03ba1daeca31"}],
                "metadata": {"k": "v"},
                "partitions": {"root_gb": 10, "ephemeral_gb": 0, "swap_mb": 0},
                "min_count": 1,
                "max_count": 1,
                "availability_zone": None,
            },
            "scheduler_hints": {},
        }
        self.assertGreater(
            self.assertRefused("POST", "/v1/servers", server_schema.CREATE, good), 20
        )
        server = self.server(flavor=flavor)["uuid"]
        self.assertRefused(
            "PUT",
            f"/v1/servers/{server}/states/power",
            server_schema.POWER,
            {"target": "off"},
        )

    def test_quota_update(self):
        good = {"quota": {r: 5 for r in quota_obj.RESOURCES}}
        self.assertRefused(
            "PUT", f"/v1/quotas/{test_api.PROJECT_A}", quota_schema.UPDATE, good
        )

    def test_what_the_engine_checks_behind_the_api(self):
        # (A composition's keys are the Valence extension's: its tests.)
        before = self.snapshot()
        for field, body in (
            (
                "resource_traits",
                {"name": "c", "resources": {"b": 1}, "resource_traits": {"x y": 1}},
            ),
            ("resources", {"name": "c", "resources": {"a": 1, "b": 1}}),
        ):
            response, answer = self.call("admin", "POST", "/v1/flavors", body)
            self.assertEqual(400, response.status_code, (field, answer))
            self.assertIn(field, self.fault(answer))
        self.assertEqual(before, self.snapshot())
