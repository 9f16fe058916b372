"""The import rules of ARCHITECTURE section 3, checked on the source."""

import ast
import pathlib

from tests import base

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "mogan_valence"

# package -> packages of ours it must never import
FORBIDDEN = {
    "engine": {"valence", "simulator", "cli", "localstack", "db", "api"},
    # The API reaches the engine only through its rpcapi; reads go through
    # objects.
    "api": {"valence", "simulator", "cli", "localstack", "db", "ironic"},
    "valence": {"db", "simulator", "cli", "localstack"},
    "ironic": {"engine", "valence", "objects", "db", "simulator"},
    "simulator": {"engine", "objects", "db", "valence", "ironic", "conf"},
    "objects": {"engine", "valence", "ironic"},
    "db": {"engine", "valence", "ironic", "objects"},
}


# NOTE: explicit exceptions, each with its reason.
ALLOWED = {
    # taskflow's persistence backend writes its own tables and needs the
    # engine's SQLAlchemy engine; there are no objects for it to go through.
    ("engine/persistence.py", "db"),
}


def _imports(path: pathlib.Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "mogan_valence" and len(parts) > 1:
                found.add(parts[1])
    return found


class TestLayering(base.TestCase):
    def test_imports_point_down_the_runtime_path(self):
        violations = []
        for package, forbidden in FORBIDDEN.items():
            for path in sorted((PACKAGE / package).rglob("*.py")):
                rel = str(path.relative_to(PACKAGE))
                bad = {b for b in _imports(path) & forbidden if (rel, b) not in ALLOWED}
                if bad:
                    violations.append(
                        f"{path.relative_to(PACKAGE)} imports {', '.join(sorted(bad))}"
                    )
        self.assertEqual([], violations)
