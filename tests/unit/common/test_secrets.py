"""Credentials in URLs and password-looking values never survive masking."""

from mogan_valence.common import secrets
from tests import base


class TestMaskUrlCredentials(base.TestCase):
    def test_password_masked_user_and_rest_kept(self):
        self.assertEqual(
            "GET http://admin:***@podm:8443/redfish/v1 failed",
            secrets.mask_url_credentials(
                "GET http://admin:s3cret@podm:8443/redfish/v1 failed"
            ),
        )

    def test_every_url_in_a_text(self):
        text = (
            "mysql+pymysql://root:dbpw@db/mogan and "
            "'https://u:pw2@valence:8181/v1/nodes' then redis://:pw3@cache:6379"
        )
        masked = secrets.mask_url_credentials(text)
        for secret in ("dbpw", "pw2", "pw3"):
            self.assertNotIn(secret, masked)
        self.assertIn("mysql+pymysql://root:***@db/mogan", masked)
        self.assertIn("'https://u:***@valence:8181/v1/nodes'", masked)
        self.assertIn("redis://:***@cache:6379", masked)

    def test_unescaped_at_sign_in_the_password(self):
        self.assertEqual(
            "http://u:***@host/x", secrets.mask_url_credentials("http://u:p@ss@host/x")
        )

    def test_no_credentials_nothing_changes(self):
        for text in (
            "http://host:8080/path@x",
            "https://user@host/x",
            "http://h/x?q=a@b",
            "no url at all: a:b@c",
            "",
        ):
            self.assertEqual(text, secrets.mask_url_credentials(text))

    def test_json_text_keeps_its_shape(self):
        self.assertEqual(
            '{"url": "http://a:***@c", "mail": "d@e"}',
            secrets.mask_url_credentials('{"url": "http://a:b@c", "mail": "d@e"}'),
        )


class TestMask(base.TestCase):
    def test_url_credentials_and_password_values(self):
        masked = secrets.mask(
            "POST http://u:urlpw@v/x with password=plain and "
            '{"redfish_password": "bmcpw"}'
        )
        for secret in ("urlpw", "plain", "bmcpw"):
            self.assertNotIn(secret, masked)
        self.assertIn("http://u:***@v/x", masked)

    def test_none_and_empty(self):
        self.assertIsNone(secrets.mask(None))
        self.assertEqual("", secrets.mask(""))
