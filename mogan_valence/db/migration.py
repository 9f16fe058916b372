"""Schema migrations: run the alembic history against the configured database.

The history lives at the top of the source tree (``alembic/``) and is installed
as data under ``<prefix>/share/mogan-valence/alembic``; this module finds it
either way so that ``mogan-valence-dbsync`` works from a checkout and from an
installed package.
"""

import os
import pathlib
import sys

from alembic import command as alembic_command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script
import sqlalchemy as sa

from mogan_valence.common import exception
from mogan_valence.db import api as db_api

_PACKAGE_DIR = pathlib.Path(__file__).resolve().parents[1]
_INSTALLED_REL = pathlib.Path("share", "mogan-valence", "alembic")


def _candidates() -> list[pathlib.Path]:
    # a checkout or an editable install: <tree>/alembic
    found = [_PACKAGE_DIR.parent / "alembic"]
    # an install under some prefix: <prefix>/lib/pythonX.Y/site-packages/<pkg>
    if len(_PACKAGE_DIR.parents) > 3:
        found.append(_PACKAGE_DIR.parents[3] / _INSTALLED_REL)
    found += [
        pathlib.Path(sys.prefix) / _INSTALLED_REL,
        pathlib.Path(sys.base_prefix) / _INSTALLED_REL,
    ]
    override = os.environ.get("MOGAN_VALENCE_ALEMBIC_DIR")
    if override:
        found.insert(0, pathlib.Path(override))
    return found


def script_location() -> pathlib.Path:
    """Where the alembic history is; raises naming every place looked at."""
    candidates = _candidates()
    for path in candidates:
        if (path / "env.py").is_file() and (path / "versions").is_dir():
            return path
    raise exception.MigrationError(
        reason="cannot find the alembic history; looked in "
        + ", ".join(str(p) for p in candidates)
        + " (set MOGAN_VALENCE_ALEMBIC_DIR to its location)"
    )


def _script_config() -> alembic_config.Config:
    cfg = alembic_config.Config()
    cfg.set_main_option("script_location", str(script_location()))
    return cfg


def _config(engine: sa.engine.Engine | None = None) -> alembic_config.Config:
    cfg = _script_config()
    # env.py runs on this engine (the oslo.db one unless a test passes its own).
    cfg.attributes["engine"] = engine if engine is not None else db_api.get_engine()
    return cfg


def upgrade(revision: str = "head", engine=None) -> None:
    alembic_command.upgrade(_config(engine), revision)


def stamp(revision: str, engine=None) -> None:
    alembic_command.stamp(_config(engine), revision)


def version(engine=None) -> str | None:
    """The revision the database is at, or None for an unversioned one."""
    engine = engine if engine is not None else db_api.get_engine()
    with engine.connect() as conn:
        return alembic_migration.MigrationContext.configure(conn).get_current_revision()


def head() -> str:
    return alembic_script.ScriptDirectory.from_config(
        _script_config()
    ).get_current_head()


def revisions() -> list[str]:
    """Every revision from the first to the head, in upgrade order."""
    directory = alembic_script.ScriptDirectory.from_config(_script_config())
    return [r.revision for r in reversed(list(directory.walk_revisions()))]
