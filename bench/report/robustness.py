"""The robustness sections: faults survived, and bad inputs shown as whatever JSON holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.report.markdown import fill, num, table, yes_no
from bench.report.results import Record, Section

FAULTS_HEADER = ["fault", "emitted (critical)", "stored", "lost (critical)", "duplicated",
                 "dropped by policy", "outage s", "recover s", "max lag s"]  # fmt: skip
PROVENANCE_KEYS = {"benchmark", "command", "machine", "commit", "finished_at", "settings"}


def faults_body(r: Record, img: Path) -> str:
    rows = [
        [
            f["scenario"],
            f"{f['emitted']} ({f['critical_emitted']})",
            f["stored"],
            f"{f['lost']} ({f['critical_lost']})",
            f["duplicated"],
            f["dropped_by_policy"],
            num(f["outage_s"]),
            num(f["recover_s"]),
            num(f["max_lag_s"]),
        ]
        for f in r["scenarios"]
    ]
    return fill("faults.md", table=table(FAULTS_HEADER, rows), survived=r["survived"], of=r["of"])


def bad_inputs_body(r: Record, img: Path) -> str:
    return generic_tables(r)


def generic_tables(record: Record) -> str:
    """A result whose shape this report does not know: its scalars, then each list of rows
    and each dict of rows (one row per key) as a table."""
    scalars = [[k, _cell(v)] for k, v in record.items() if k not in PROVENANCE_KEYS and _scalar(v)]
    parts = [table(["measure", "value"], scalars)] if scalars else []
    for key, value in record.items():
        if key in PROVENANCE_KEYS:
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            parts.append(f"`{key}`:\n\n" + rows_table(key, dict(enumerate(value)), index=False))
        elif isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            parts.append(f"`{key}`:\n\n" + rows_table(key, value, index=True))
    return "\n\n".join(parts) or "(no figures in the JSON)"


def rows_table(key: str, rows: dict[Any, Record], index: bool) -> str:
    """One row per item, one column per field any item has (nested values summarised)."""
    columns = list(dict.fromkeys(c for row in rows.values() for c in row))
    header = [key if index else columns[0], *columns[0 if index else 1 :]]
    body = [
        [*([str(name)] if index else []), *[_cell(row.get(c)) for c in columns]]
        for name, row in rows.items()
    ]
    return table(header, body)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, list):
        return ", ".join(map(str, value)) if value else "none"
    if isinstance(value, dict):
        return "; ".join(f"{k} {_cell(v)}" for k, v in value.items())
    return num(value, 3) if isinstance(value, float) else num(value)


FAULTS = Section("faults.json", "python -m bench.faults", faults_body)
BAD_INPUTS = Section("bad_inputs.json", "python -m bench.bad_inputs", bad_inputs_body)
