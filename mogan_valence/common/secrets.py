"""Keep secrets out of text that is logged, stored as a fault or answered.

``mask_url_credentials`` hides the password of every ``scheme://user:pw@host``
in a text (a URL in an error message, a command line, a request echo);
``mask`` also applies oslo's ``mask_password`` (``password=...``,
``"admin_pass": "..."`` and the like).
"""

import re

from oslo_utils import strutils

MASK = "***"

# scheme://user:password@ — the user is kept; the password runs to the last
# "@" before the host. It stops at whitespace, quotes, brackets and the
# characters that end an authority ("/", "?", "#"), so that "host:port/x@y"
# is not taken for credentials. An unescaped "@" inside the password is
# covered: the match backs off to the "@" that starts the host.
_URL_CREDENTIALS = re.compile(
    r"(?P<prefix>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/?#@\s\"'<>\[\]]*:)"
    r"(?P<password>[^/?#\s\"'<>\[\]]*)@"
)


def mask_url_credentials(text: str) -> str:
    """``text`` with the password of each URL in it replaced by ``***``.

    >>> mask_url_credentials("GET http://admin:s3cret@podm:8443/redfish/v1")
    'GET http://admin:***@podm:8443/redfish/v1'
    """
    if not text:
        return text
    return _URL_CREDENTIALS.sub(lambda m: f"{m.group('prefix')}{MASK}@", str(text))


def mask(text: str) -> str:
    """``text`` without URL credentials nor password-looking values."""
    if not text:
        return text
    return strutils.mask_password(mask_url_credentials(str(text)))
