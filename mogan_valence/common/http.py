"""HTTP sessions for the engine's clients (Ironic, Valence): ``adopt`` puts
a ``Session`` under a keystoneauth session.

requests reads the proxy settings from the environment on every request:
``getproxies()`` and ``proxy_bypass()`` walk the whole of ``os.environ`` for
each call. Through ironicclient and keystoneauth that was a third of the
CPU time of an Ironic request in the engine (``make bench-engine-cost``).
"""

import threading
import urllib.parse

import requests

# Endpoints whose settings are kept; the engine talks to a handful.
MAX_ENDPOINTS = 64


class Session(requests.Session):
    """A requests session that reads the environment (``*_proxy``,
    ``no_proxy``, ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``) once per
    endpoint (scheme and host) instead of on every request.

    Like every OpenStack service, the engine takes its environment as it
    was when it started: a proxy exported later is not seen.
    """

    def __init__(self):
        super().__init__()
        self._settings: dict[tuple, dict] = {}
        self._settings_lock = threading.Lock()

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        # NOTE: what is kept also depends on the session's own proxies,
        # verify and cert, which nothing changes once it is made.
        if proxies != {} or not self.trust_env:
            return super().merge_environment_settings(
                url, proxies, stream, verify, cert
            )
        parts = urllib.parse.urlsplit(url)
        key = (parts.scheme, parts.netloc, stream, verify, cert)
        try:
            settings = self._settings.get(key)
        except TypeError:  # an unhashable verify or cert: not kept
            return super().merge_environment_settings(
                url, proxies, stream, verify, cert
            )
        if settings is None:
            settings = super().merge_environment_settings(
                url, proxies, stream, verify, cert
            )
            with self._settings_lock:
                if len(self._settings) >= MAX_ENDPOINTS:
                    self._settings.clear()
                self._settings[key] = settings
        # The caller gets its own copy to change.
        return {**settings, "proxies": dict(settings["proxies"])}


def adopt(ks_session):
    """Put a ``Session`` under a keystoneauth session, with the adapters
    keystoneauth mounted on the requests session it made: TCP keep-alive,
    and the group's ``tls_ciphers`` and ``tls_min_version``.

    :returns: ``ks_session``.
    """
    session = Session()
    for prefix, adapter in ks_session.session.adapters.items():
        session.mount(prefix, adapter)
    ks_session.session = session
    # keystoneauth closes the requests session it made when it is closed
    # (LP#1838704); this one takes its place.
    if getattr(ks_session, "_session", None) is not None:
        ks_session._session = session
    return ks_session
