"""The HTTP-drain section: a queued backlog over the HTTP fallback, one request per event
against the outbox's batches."""

from __future__ import annotations

import math
from pathlib import Path

from bench.report.markdown import fill, num, table, yes_no
from bench.report.results import Record, Section

HEADER = ["events a request (sender batch)", "requests", "seconds", "events/s",
          "ms a request", "stored (rows, distinct)", "all stored"]  # fmt: skip
DATABASES = {"postgresql": "a fresh PostgreSQL database", "sqlite": "a SQLite file"}


def http_drain_body(r: Record, img: Path) -> str:
    s, modes = r["settings"], r["modes"]
    return fill(
        "http_drain.md",
        events=num(modes[0]["events"]),
        server=s["server"],
        database=DATABASES.get(s["database"], s["database"]),
        edge=s["edge"],
        rate_limit=s["rate_limit"],
        table=table(HEADER, [mode_row(m) for m in modes]),
        speedups=speedups(modes),
        stored=stored_text(modes),
        limit=limit_text(modes, r["default_rate_limit"]),
    )


def mode_row(m: Record) -> list[object]:
    return [
        m["batch"], num(m["requests"]), num(m["seconds"], 2), num(m["events_per_s"], 0),
        num(1000 * m["seconds"] / m["requests"], 1),
        f"{num(m['rows_stored'])}, {num(m['distinct_event_ids'])}", yes_no(m["all_stored"]),
    ]  # fmt: skip


def speedups(modes: list[Record]) -> str:
    """How much faster each batch size drained than the smallest, in words."""
    base, *others = sorted(modes, key=lambda m: m["batch"])
    if not others:
        return f"Only batches of {base['batch']} were run."
    one = "one request per event" if base["batch"] == 1 else f"batches of {base['batch']}"
    parts = [
        f"batches of {m['batch']} drained it {base['seconds'] / m['seconds']:.1f} times faster "
        f"({num(m['seconds'], 2)} s against {num(base['seconds'], 1)} s, "
        f"{num(m['requests'])} requests instead of {num(base['requests'])})"
        for m in others
    ]
    return f"Against {one}: " + "; ".join(parts) + "."


def stored_text(modes: list[Record]) -> str:
    missing = [m for m in modes if not m["all_stored"]]
    if not missing:
        return "Every event of every mode was stored exactly once (rows counted in the database)."
    return "Not all stored: " + "; ".join(
        f"batch {m['batch']}: {num(m['rows_stored'])} rows, {num(m['distinct_event_ids'])} "
        f"distinct, {num(m['left_in_outbox'])} left in the outbox"
        for m in missing
    ) + "."  # fmt: skip


def limit_text(modes: list[Record], limit: Record) -> str:
    """What the service's default per-device rate limit, off here, would have allowed."""
    rate, burst = limit["requests_per_s"], int(limit["burst"])
    events = modes[0]["events"]
    parts = []
    for m in sorted(modes, key=lambda m: m["batch"]):
        requests = math.ceil(events / m["batch"])
        if requests <= burst:
            parts.append(f"batches of {m['batch']} ({num(requests)} requests) fit in its burst")
        else:
            floor_s = (requests - burst) / rate
            parts.append(
                f"batches of {m['batch']} need {num(requests)} requests, so at least "
                f"{num(floor_s, 0)} s ({num(events / floor_s, 0)} events/s at most)"
            )
    return (
        f"The service's default limit, {num(rate, 0)} requests/s per device after a burst of "
        f"{burst}, was off here; under it, " + "; ".join(parts) + "."
    )


HTTP_DRAIN = Section("http_drain.json", "python -m bench.http_drain", http_drain_body)
