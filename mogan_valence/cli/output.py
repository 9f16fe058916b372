"""How API bodies become rows of cliff's formatters.

Nested values keep their structure with ``-f json`` / ``-f yaml`` and read
as one short line in a table.
"""

import json

from cliff import columns


class JsonColumn(columns.FormattableColumn):
    """A dict or list: compact JSON in a table, itself in json/yaml."""

    def human_readable(self):
        if self._value is None or self._value in ({}, []):
            return ""
        return json.dumps(self._value, sort_keys=True)

    def machine_readable(self):
        return self._value


class FaultColumn(columns.FormattableColumn):
    """A server's fault: its message in a table (the step that failed and
    why), the whole fault in json/yaml."""

    def human_readable(self):
        if not self._value:
            return ""
        return self._value.get("message") or json.dumps(self._value)

    def machine_readable(self):
        return self._value


class StepsColumn(columns.FormattableColumn):
    """How long each step of a server's create and delete took: one line a
    step in a table (``create compose-node 0.11s success``)."""

    def human_readable(self):
        return "\n".join(
            f"{s.get('op')} {s.get('step')} {s.get('seconds', 0):.2f}s "
            f"{s.get('outcome', '')}".rstrip()
            for s in self._value or []
        )

    def machine_readable(self):
        return self._value


def _cell(field: str, value, formatters: dict):
    formatter = formatters.get(field)
    if formatter is not None:
        return formatter(value)
    if isinstance(value, (dict, list)):
        return JsonColumn(value)
    return value


def row(item: dict, fields: list[str], formatters: dict | None = None) -> tuple:
    """The values of ``fields`` of ``item`` (missing ones empty)."""
    formatters = formatters or {}
    return tuple(_cell(f, item.get(f), formatters) for f in fields)


def record(
    item: dict,
    first: list[str],
    hidden: frozenset = frozenset({"links"}),
    formatters: dict | None = None,
) -> tuple[tuple, tuple]:
    """``(columns, values)`` for a ShowOne: the ``first`` fields in that
    order, then every other field of ``item`` (not ``hidden``), sorted."""
    fields = [f for f in first if f in item]
    fields += sorted(k for k in item if k not in fields and k not in hidden)
    return tuple(fields), row(item, fields, formatters)
