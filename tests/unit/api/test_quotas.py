"""Quotas through the REST API: who sees and sets them, and creates over
quota refused with nothing written."""

from mogan_valence.common import states
from mogan_valence.engine import extensions
from mogan_valence.objects import instance as instance_obj
from tests.unit.api import test_api

PROJECT_A = test_api.PROJECT_A
PROJECT_B = test_api.PROJECT_B


class Composing(extensions.EngineExtension):
    """Claims composed flavors and says what they hold, as the Valence
    extension does; provisions them on the base path."""

    def claims_flavor(self, flavor):
        return bool(flavor.get("composition"))

    def requested_hardware(self, flavor):
        comp = flavor["composition"]
        return {"cores": comp.get("cpu_cores", 0), "ram_mib": comp.get("ram_mib", 0)}


class QuotaTestCase(test_api.ApiTestCase):
    def setUp(self):
        super().setUp()
        self.manager._manager.extensions.append(Composing(None))

    def quota(self, who, project=PROJECT_A):
        return self.call(who, "GET", f"/v1/quotas/{project}")

    def set_quota(self, who, limits, project=PROJECT_A):
        return self.call(who, "PUT", f"/v1/quotas/{project}", {"quota": limits})

    def create(self, flavor, who="member_a"):
        return self.call(
            who,
            "POST",
            "/v1/servers",
            {
                "server": {
                    "name": "s",
                    "image_uuid": test_api.IMAGE,
                    "flavor_uuid": flavor,
                }
            },
        )

    def composed_flavor(self, cores, ram_mib):
        response, body = self.call(
            "admin",
            "POST",
            "/v1/flavors",
            {
                "name": f"c{cores}-{ram_mib}",
                "resources": {"baremetal": "1"},
                "composition": {"cpu_cores": cores, "ram_mib": ram_mib},
            },
        )
        self.assertEqual(201, response.status_code, body)
        return body["uuid"]


class TestShowAndSet(QuotaTestCase):
    def test_defaults_and_usage(self):
        self.config(group="quota", servers=7)
        self.server()
        response, body = self.quota("reader_a")
        self.assertEqual(200, response.status_code, body)
        self.assertEqual(PROJECT_A, body["project_id"])
        self.assertEqual(
            {"limit": 7, "in_use": 1, "default": True}, body["quota"]["servers"]
        )
        self.assertEqual({"servers", "cores", "ram_mib", "disk_gb"}, set(body["quota"]))

    def test_only_admins_set_and_null_goes_back_to_the_default(self):
        response, body = self.set_quota("member_a", {"servers": 100})
        self.assertEqual(403, response.status_code, body)
        response, body = self.set_quota("admin", {"servers": 3, "cores": -1})
        self.assertEqual(200, response.status_code, body)
        self.assertEqual(
            {"limit": 3, "in_use": 0, "default": False}, body["quota"]["servers"]
        )
        self.assertEqual(-1, body["quota"]["cores"]["limit"])
        self.assertEqual(3, self.quota("member_a")[1]["quota"]["servers"]["limit"])
        body = self.set_quota("admin", {"servers": None})[1]
        self.assertEqual(
            {"limit": 10, "in_use": 0, "default": True}, body["quota"]["servers"]
        )
        self.assertEqual(-1, body["quota"]["cores"]["limit"])

    def test_another_projects_quota_does_not_exist(self):
        for who in ("member_b", "reader_a"):
            project = PROJECT_A if who == "member_b" else PROJECT_B
            response, body = self.quota(who, project)
            self.assertEqual(404, response.status_code, who)
            self.assertIn(project, self.fault(body))
        response, _ = self.set_quota("member_b", {"servers": 50}, PROJECT_A)
        self.assertEqual(404, response.status_code)
        self.assertEqual(10, self.quota("admin")[1]["quota"]["servers"]["limit"])
        # An admin may look at any project's.
        self.assertEqual(200, self.quota("admin", PROJECT_B)[0].status_code)

    def test_bad_bodies_name_the_field_and_change_nothing(self):
        cases = {
            "servers": {"servers": "ten"},
            "cores": {"cores": -2},
            "ram_mib": {"ram_mib": 2**31},
            "disk_gb": {"disk_gb": 1.5},
            "instances": {"instances": 3},
        }
        for field, limits in cases.items():
            response, body = self.set_quota("admin", limits)
            self.assertEqual(400, response.status_code, field)
            self.assertIn(field, self.fault(body))
        response, body = self.set_quota("admin", {})
        self.assertEqual(400, response.status_code)
        response, body = self.call("admin", "PUT", f"/v1/quotas/{PROJECT_A}", {"q": 1})
        self.assertEqual(400, response.status_code)
        self.assertIn("q", self.fault(body))
        shown = self.quota("admin")[1]["quota"]
        self.assertTrue(all(v["default"] for v in shown.values()), shown)

    def test_a_project_id_that_is_no_id_is_404(self):
        for bad in ("a b", "x" * 256, "../servers"):
            response, _ = self.quota("admin", bad)
            self.assertEqual(404, response.status_code, bad)


class TestEnforced(QuotaTestCase):
    def test_over_the_server_quota_is_403_naming_it_and_creates_nothing(self):
        flavor = self.public_flavor()["uuid"]
        self.set_quota("admin", {"servers": 1})
        response, body = self.create(flavor)
        self.assertEqual(201, response.status_code, body)
        self.manager.wait_idle(30)
        response, body = self.create(flavor)
        self.assertEqual(403, response.status_code, body)
        fault = self.fault(body)
        for word in ("servers", PROJECT_A, "1 requested", "1 of 1 in use"):
            self.assertIn(word, fault)
        self.assertEqual(1, len(instance_obj.Instance.list(None)))
        # Nothing is left to resume either.
        self.assertEqual([], self.manager._manager.flows.unfinished())
        # Another project has its own.
        response, body = self.create(flavor, who="member_b")
        self.assertEqual(201, response.status_code, body)

    def test_composed_hardware_is_counted_and_given_back_on_delete(self):
        flavor = self.composed_flavor(cores=16, ram_mib=4096)
        self.set_quota("admin", {"cores": 40, "ram_mib": -1})
        created = []
        for _ in range(2):
            response, body = self.create(flavor)
            self.assertEqual(201, response.status_code, body)
            created.append(body["uuid"])
        self.manager.wait_idle(30)
        response, body = self.create(flavor)
        self.assertEqual(403, response.status_code, body)
        self.assertIn("cores", self.fault(body))
        self.assertIn("32 of 40 in use", self.fault(body))
        usage = self.quota("member_a")[1]["quota"]
        self.assertEqual(32, usage["cores"]["in_use"])
        self.assertEqual(8192, usage["ram_mib"]["in_use"])
        self.assertEqual(2, usage["servers"]["in_use"])
        # A pre-set flavor holds no composed hardware: it still fits.
        response, body = self.create(self.public_flavor()["uuid"])
        self.assertEqual(201, response.status_code, body)
        self.manager.wait_idle(30)
        response, _ = self.call("member_a", "DELETE", f"/v1/servers/{created[0]}")
        self.assertEqual(204, response.status_code)
        self.manager.wait_idle(30)
        self.assertEqual(
            states.DELETED, instance_obj.Instance.get(None, created[0]).status
        )
        response, body = self.create(flavor)
        self.assertEqual(201, response.status_code, body)
