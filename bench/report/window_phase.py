"""The window-phase section: is the fall caught wherever the edge's windows land?"""

from __future__ import annotations

from pathlib import Path

from bench.report.markdown import fill, num, table
from bench.report.results import Record, Section

HEADER = [
    "training hop", "draws", "time jitter", "seed", "training windows", "training s",
    "phases caught",
    "phases with a false alarm", "latency median (s)", "latency max (s)", "per phase",
]  # fmt: skip


def window_phase_body(r: Record, img: Path) -> str:
    s = r["settings"]
    return fill(
        "window_phase.md",
        clips=s["clips_per_class"],
        epochs=s["epochs"],
        size=s["size"],
        fall_start=f"{r['fall']['start_s']:g}",
        fall_end=f"{r['fall']['end_s']:g}",
        phases=s["phases"],
        edge_hop=f"{r['edge_hop_s']:g}",
        fps=f"{r['fps']:g}",
        late=f"{s['late_s']:g}",
        table=table(HEADER, [run_row(run) for run in r["runs"]]),
        totals="; ".join(recipe_total(name, summary) for name, summary in r["by_recipe"].items()),
    )


def run_row(run: Record) -> list[object]:
    summary = run["summary"]
    return [
        f"{run['hop_s']:g} s", run["draws"], f"{run['time_jitter_s']:g} s",
        run["train_seed"], num(run["train_windows"], 0),
        num(run["train_wall_s"], 0), f"{summary['caught']} of {summary['phases']}",
        summary["with_false_alarm"], num(summary["latency_s_median"], 2),
        num(summary["latency_s_max"], 2),
        " ".join("x" if p["caught"] else "." for p in run["per_phase"]),
    ]  # fmt: skip


def recipe_total(name: str, summary: Record) -> str:
    """One recipe (`hop:draws[:jitter]`) over every seed and phase."""
    hop, draws, *jitter = name.split(":")
    label = f"every {hop} s, {draws} draws" + (f", jitter {jitter[0]} s" if jitter else "")
    return (
        f"{label}: caught in {summary['caught']} of {summary['phases']} phase runs, a false "
        f"alarm in {summary['with_false_alarm']}"
    )


WINDOW_PHASE = Section("window_phase.json", "python -m bench.window_phase", window_phase_body)
