"""``mogan_valence.api.wsgi:application`` for uwsgi or Apache mod_wsgi.

The configuration comes from ``MOGAN_VALENCE_CONFIG_FILES`` (paths joined
by ``:``), by default ``/etc/mogan-valence/mogan-valence.conf``.
"""

import os

from mogan_valence.api import service


def _application():
    files = os.environ.get(
        "MOGAN_VALENCE_CONFIG_FILES", "/etc/mogan-valence/mogan-valence.conf"
    )
    argv = []
    for path in filter(None, files.split(":")):
        argv += ["--config-file", path]
    return service.prepare(argv)


application = _application()
