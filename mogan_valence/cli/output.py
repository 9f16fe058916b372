"""Tables for people, JSON for scripts."""

import datetime
import json
import sys


def _plain(value):
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return "" if value is None else str(value)


def table(rows: list[dict], columns: list[str], out=sys.stdout) -> None:
    cells = [[_plain(r.get(c)) for c in columns] for r in rows]
    widths = [
        max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)
    ]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    print(line, file=out)
    print(
        "| "
        + " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
        + " |",
        file=out,
    )
    print(line, file=out)
    for row in cells:
        print(
            "| "
            + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True))
            + " |",
            file=out,
        )
    print(line, file=out)


def record(data: dict, out=sys.stdout) -> None:
    table([{"Field": k, "Value": v} for k, v in data.items()], ["Field", "Value"], out)


def emit(data, fmt: str, columns: list[str] | None = None, out=sys.stdout) -> None:
    if fmt == "json":
        json.dump(data, out, indent=2, sort_keys=True, default=_plain)
        out.write("\n")
    elif isinstance(data, list):
        table(data, columns or sorted({k for row in data for k in row}), out)
    else:
        record(data, out)
