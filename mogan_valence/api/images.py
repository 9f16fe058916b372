"""Which image sources a caller may deploy from.

A Glance image UUID, or an http(s) URL. ``file://`` only for admins and
only under ``[api] image_file_allowed_paths`` (empty by default): a path
is read on the engine and Ironic conductor hosts. URL hosts may be limited
to ``[api] image_url_allowed_hosts``; loopback and link-local hosts (the
conductor's own services, cloud metadata) are refused unless listed there.
"""

import ipaddress
import os.path
import socket
import urllib.parse

from oslo_utils import uuidutils

from mogan_valence.common import exception


def _refuse(reason: str) -> exception.InvalidInput:
    return exception.InvalidInput(reason=f"'server.image_uuid': {reason}")


def _internal(host: str) -> bool:
    """Loopback or link-local, by name or by any address it resolves to."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        try:
            addresses = {
                ipaddress.ip_address(info[4][0].split("%")[0])
                for info in socket.getaddrinfo(host, None)
            }
        except (OSError, ValueError):
            return False  # unresolvable here: Ironic will say so
    return any(a.is_loopback or a.is_link_local for a in addresses)


def check(image: str, is_admin: bool, conf) -> str:
    """``image`` if this caller may deploy from it.

    :raises InvalidInput: naming why not (never echoing a signed URL's
        query string).
    """
    image = image.strip()
    if uuidutils.is_uuid_like(image):
        return image
    url = urllib.parse.urlsplit(image)
    scheme = url.scheme.lower()
    if scheme == "file":
        allowed = [os.path.realpath(p) for p in conf.api.image_file_allowed_paths]
        path = os.path.realpath(url.path)
        if not is_admin or not any(
            path == a or path.startswith(a.rstrip("/") + "/") for a in allowed
        ):
            raise _refuse(
                "file:// images are for admins only, under [api] "
                "image_file_allowed_paths"
            )
        return image
    if scheme not in ("http", "https") or not url.hostname:
        raise _refuse("must be a Glance image UUID or an http(s) URL")
    host = url.hostname
    allowed_hosts = [h.lower() for h in conf.api.image_url_allowed_hosts]
    if allowed_hosts:
        if host.lower() not in allowed_hosts:
            raise _refuse(f"host {host} is not in [api] image_url_allowed_hosts")
    elif _internal(host):
        raise _refuse(f"host {host} is loopback or link-local")
    return image
