#!/usr/bin/env python3
"""Project checks that ruff has no rule for, run by ``make lint``.

MV001  a taskflow atom's ``revert`` does not take ``**kwargs``
       (taskflow passes ``flow_failures`` and, for retries, more keyword
       arguments than the signature names; a revert without ``**kwargs``
       fails with a TypeError in the middle of a rollback).
MV002  a taskflow atom's docstring does not state its reversion strategy
       ("Reversion strategy: ..."; classes whose name starts with ``_`` are
       abstract helpers and exempt).
MV010  a log call's message is formatted before the call (f-string, ``%``,
       ``.format()`` or ``+``): pass the values as arguments
       (``LOG.info("Composed %s", uuid)``) so that nothing is formatted for
       a level that is off and secrets masking sees the template.
MV011  a module-level ``LOG`` is not ``logging.getLogger(__name__)``: the
       project logs through the standard library (oslo.log only configures
       the handlers, in ``common/config.py``).

A finding that is right to keep is silenced with ``# mv-checks: MV010`` (the
codes, comma-separated) on the line it is reported on, with a comment why.

Usage: tools/checks.py [PATH...]   (default: the project's Python trees)
Exit status 1 when anything is found.
"""

import ast
import pathlib
import re
import sys

DEFAULT_PATHS = ("mogan_valence", "tests", "tools", "benchmarks", "alembic")

# Bases that make a class a taskflow atom, by their full dotted name.
ATOM_BASES = ("taskflow.task.", "taskflow.retry.", "taskflow.atom.")
LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal"}
)
LOGGER_NAME = re.compile(r"^_?(log|logger)$", re.IGNORECASE)
SILENCE = re.compile(r"#\s*mv-checks:\s*([A-Z0-9, ]+)")


class Finding:
    def __init__(self, path: str, line: int, code: str, message: str):
        self.path, self.line, self.code, self.message = path, line, code, message

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.code} {self.message}"

    def __repr__(self) -> str:
        return f"Finding({self})"


def _imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> full dotted name, for the module's imports."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


def _resolve(node: ast.expr, imports: dict[str, str]) -> str | None:
    dotted = _dotted(node)
    if dotted is None:
        return None
    head, _, rest = dotted.partition(".")
    full = imports.get(head, head)
    return f"{full}.{rest}" if rest else full


class Source:
    """One parsed file."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.lines = text.splitlines()
        self.tree = ast.parse(text, filename=path)
        self.imports = _imports(self.tree)
        self.classes = [n for n in ast.walk(self.tree) if isinstance(n, ast.ClassDef)]

    def silenced(self, line: int, code: str) -> bool:
        if not 0 < line <= len(self.lines):
            return False
        match = SILENCE.search(self.lines[line - 1])
        return bool(match) and code in {c.strip() for c in match.group(1).split(",")}


def atom_classes(sources: list[Source]) -> set[tuple[str, str]]:
    """(path, class name) of every taskflow atom, following subclasses
    across the given files by class name (to a fixpoint)."""
    atoms: set[tuple[str, str]] = set()
    atom_names: set[str] = set()
    changed = True
    while changed:
        changed = False
        for src in sources:
            for cls in src.classes:
                if (src.path, cls.name) in atoms:
                    continue
                for base in cls.bases:
                    full = _resolve(base, src.imports) or ""
                    last = full.rsplit(".", 1)[-1]
                    if full.startswith(ATOM_BASES) or last in atom_names:
                        atoms.add((src.path, cls.name))
                        atom_names.add(cls.name)
                        changed = True
                        break
    return atoms


def check_atoms(src: Source, atoms: set[tuple[str, str]]) -> list[Finding]:
    found = []
    for cls in src.classes:
        if (src.path, cls.name) not in atoms:
            continue
        doc = ast.get_docstring(cls) or ""
        if not cls.name.startswith("_") and "Reversion strategy" not in doc:
            found.append(
                Finding(
                    src.path,
                    cls.lineno,
                    "MV002",
                    f"{cls.name}: the docstring must state its "
                    "'Reversion strategy: ...'",
                )
            )
        for item in cls.body:
            if (
                isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                and item.name == "revert"
                and item.args.kwarg is None
            ):
                found.append(
                    Finding(
                        src.path,
                        item.lineno,
                        "MV001",
                        f"{cls.name}.revert must accept **kwargs",
                    )
                )
    return found


def _is_logger(node: ast.expr) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return bool(LOGGER_NAME.match(name))


def _preformatted(node: ast.expr) -> str | None:
    """How a message was formatted before the call, or None."""
    if isinstance(node, ast.JoinedStr) and any(
        isinstance(v, ast.FormattedValue) for v in node.values
    ):
        return "an f-string"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return "'%' formatting"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return "'+' concatenation"
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    ):
        return "str.format()"
    return None


def check_logging(src: Source) -> list[Finding]:
    found = []
    for node in ast.walk(src.tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method = node.func.attr
        if not _is_logger(node.func.value):
            continue
        if method in LOG_METHODS:
            message = node.args[0] if node.args else None
        elif method == "log":
            message = node.args[1] if len(node.args) > 1 else None
        else:
            continue
        how = _preformatted(message) if message is not None else None
        if how:
            found.append(
                Finding(
                    src.path,
                    node.lineno,
                    "MV010",
                    f"{_dotted(node.func) or method}() gets a message built with "
                    f"{how}: pass the values as arguments ('%s')",
                )
            )
    for stmt in src.tree.body:
        if not isinstance(stmt, ast.Assign | ast.AnnAssign):
            continue
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        if not any(isinstance(t, ast.Name) and t.id == "LOG" for t in targets):
            continue
        value = stmt.value
        ok = (
            isinstance(value, ast.Call)
            and _resolve(value.func, src.imports) == "logging.getLogger"
            and len(value.args) == 1
            and isinstance(value.args[0], ast.Name)
            and value.args[0].id == "__name__"
        )
        if not ok:
            found.append(
                Finding(
                    src.path,
                    stmt.lineno,
                    "MV011",
                    "LOG must be logging.getLogger(__name__) (the standard "
                    "library's; oslo.log only configures handlers)",
                )
            )
    return found


def check_sources(sources: list[Source]) -> list[Finding]:
    atoms = atom_classes(sources)
    found = []
    for src in sources:
        for finding in check_atoms(src, atoms) + check_logging(src):
            if not src.silenced(finding.line, finding.code):
                found.append(finding)
    return sorted(found, key=lambda f: (f.path, f.line, f.code))


def python_files(paths) -> list[pathlib.Path]:
    files = []
    for path in map(pathlib.Path, paths):
        if path.is_dir():
            files.extend(
                p
                for p in sorted(path.rglob("*.py"))
                if not any(part.startswith(".") for part in p.parts)
            )
        elif path.suffix == ".py":
            files.append(path)
    return files


def main(argv: list[str] | None = None) -> int:
    paths = (sys.argv[1:] if argv is None else argv) or [
        p for p in DEFAULT_PATHS if pathlib.Path(p).exists()
    ]
    sources = [Source(str(p), p.read_text()) for p in python_files(paths)]
    findings = check_sources(sources)
    for finding in findings:
        print(finding)
    if findings:
        print(f"{len(findings)} finding(s); see tools/checks.py for the codes")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
