"""The result JSONs a report reads, and what each section says of where one came from."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A result file's own keys (settings, summary, goals, ...) stay plain JSON: each benchmark
# writes its own shape. The per-seed run reports inside kd results are read typed.
Record = dict[str, Any]


@dataclass
class Results:
    """The result JSONs of one folder; `get` is None for one that is absent."""

    root: Path

    def get(self, name: str) -> Record | None:
        path = self.root / name
        return json.loads(path.read_text()) if path.exists() else None

    def lines(self, name: str) -> list[Record] | None:
        path = self.root / name
        if not path.exists():
            return None
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def provenance(record: Record, name: str) -> str:
    """Command, machine and time of one result, as each section states them."""
    machine = machine_text(record.get("machine", {}))
    sources = record.get("sources")
    if sources:  # seeds or splits run as separate processes, then merged
        runs = "; ".join(source_text(s) for s in sources)
        return (
            f"Merged from {len(sources)} runs: {runs}. Machine: {machine}. "
            f"JSON: `bench/results/{name}`."
        )
    commit = (record.get("commit") or "?")[:10]
    return (
        f"Command: `{record.get('command', '?')}`. Machine: {machine}. "
        f"JSON: `bench/results/{name}` ({record.get('finished_at', '?')}, commit {commit})."
    )


def machine_text(m: Record) -> str:
    parts = [f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores", f"Python {m.get('python', '?')}"]
    parts += [f"{k} {m[k]}" for k in ("torch", "onnxruntime", "cv2") if k in m]
    if "gpu" in m:
        parts.insert(0, m["gpu"])
    load = (
        f"; load average {', '.join(map(str, m['loadavg']))} when written" if "loadavg" in m else ""
    )
    return "; ".join(parts) + load


def source_text(source: Record) -> str:
    """One of the runs a merged result came from."""
    note = f" [{source['commit_note']}]" if source.get("commit_note") else ""
    return (
        f"`{source.get('command', '?')}` ({source.get('finished_at', '?')}, commit "
        f"{(source.get('commit') or '?')[:10]}; {source_seeds(source)}){note}"
    )


def source_seeds(source: Record) -> str:
    seeds = sorted({seed for done in source.get("seeds", {}).values() for seed in done})
    return seed_list(seeds) if seeds else "no seeds"


def seed_list(seeds: list[int]) -> str:
    return ("seeds " if len(seeds) > 1 else "seed ") + ", ".join(map(str, seeds))


def fall_seeds(falls: list[Record]) -> str:
    """The seeds of some scripted falls (missed ones, false alarms), or 'none'."""
    return seed_list([f["seed"] for f in falls]) if falls else "none"


def not_run(name: str, command: str) -> str:
    return f"**Not run**: `bench/results/{name}` is absent. `{command}` writes it."


@dataclass(frozen=True)
class Section:
    """A section drawn from one result JSON: `body` gets it and the PNG folder."""

    result: str
    command: str
    body: Callable[[Record, Path], str]

    def render(self, results: Results, img: Path) -> str:
        record = results.get(self.result)
        if record is None:
            return not_run(self.result, self.command)
        return provenance(record, self.result) + "\n\n" + self.body(record, img)
