"""The distillation section: each kd result split by split, and accuracy against latency."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from bench.report import plots as report_plots
from bench.report.kd_partial import kd_upfall_section
from bench.report.kd_tables import (
    kd_goals_table,
    kd_split_table,
    kd_timing,
    models_in,
    seed_reports,
    seeds_status,
)
from bench.report.markdown import fill
from bench.report.results import Record, Results, not_run, provenance
from bench.report.twins import is_variant
from cloud.training.report import ModelName, RunReport

KD_SYNTHETIC = {
    "kd_synthetic.json": ("Synthetic scenes", "python -m bench.kd_quality --dataset synthetic"),
    "kd_synthetic_quick.json": (
        "Synthetic scenes, quick CPU setting (a check that the pipeline runs end to end, "
        "not a quality figure)",
        "bench/run_all.sh --kd quick",
    ),
}


def kd_section(results: Results, img: Path) -> str:
    return fill(
        "kd.md",
        cost=" ".join(part for part in (wall_times(results), extraction_cost(results)) if part),
        synthetic=kd_synthetic_section(results),
        others=kd_other_sections(results),
        upfall_partial=kd_upfall_section(results),
        figure=kd_figure(results, img),
    )


def kd_synthetic_section(results: Results) -> str:
    """The full result (or 'not run'), then the quick CPU check where it ran."""
    return "\n\n".join(
        kd_synthetic_file(results, name, title, command)
        for name, (title, command) in KD_SYNTHETIC.items()
        if name == "kd_synthetic.json" or results.get(name) is not None
    )


def kd_synthetic_file(results: Results, name: str, title: str, command: str) -> str:
    record = results.get(name)
    if record is None:
        return f"### {title}\n\n" + not_run(name, command)
    return "\n\n".join(
        fill(
            "kd_synthetic.md",
            title=title,
            clips=record["settings"].get("clips_per_class"),
            test_where=split["test_where"],
            val_where=split["val_where"],
            provenance=provenance(record, name),
            split=split_name,
            seeds=seeds_status(record, split),
            table=kd_split_table(split, record["settings"]),
            goals=kd_goals_table(split["summary"], results.get("edge_throughput.json")),
            timing=seed_timing(split),
            reading=kd_synthetic_reading(split["summary"]) if name == "kd_synthetic.json" else "",
        )
        for split_name, split in record["splits"].items()
    )


def gate_text(summary: Record) -> str:
    """Whether the teacher validated better than the student alone, seed by seed."""
    if all(summary.get("teacher_better_on_val") or [False]):
        return "The teacher validated better than the student in every seed (the gate passes)."
    return "The teacher did not validate better than the student in every seed."


def kd_change(points: float) -> str:
    """What KD did to the student's clip accuracy, in the direction and size measured."""
    if round(points, 1) == 0:
        return "KD left the student's clip accuracy unchanged (to 0.1 points)."
    if points > 0:
        return f"KD gained {points:.1f} points of clip accuracy over the student without KD."
    return f"KD lost {-points:.1f} points of clip accuracy against the student without KD."


def kd_synthetic_reading(summary: Record) -> str:
    acc = {m: summary[m]["accuracy_clip"]["mean"] for m in models_in(summary)}
    scratch, kd = acc[ModelName.STUDENT_SCRATCH], acc[ModelName.STUDENT_KD]
    return (
        f"Reading: the synthetic scenes put a small person in random rooms with furniture and "
        f"distractors; the teacher reaches {acc[ModelName.TEACHER]:.0%} clip accuracy, the "
        f"student without KD {scratch:.0%} and the student with KD {kd:.0%}. "
        f"{gate_text(summary)} {kd_change((kd - scratch) * 100)}"
    )


def kd_other_sections(results: Results) -> str:
    """Every other kd_*.json (UP-Fall, fall vs not-fall, pose teacher...), split by split.

    The twins (`kd_X_s48.json`, `kd_X_u25.json`, `kd_X_crop.json`) are their own sections'.
    """
    names = sorted(p.name for p in results.root.glob("kd_*.json") if not is_variant(p))
    return "\n\n".join(kd_file_splits(results, name) for name in names if name not in KD_SYNTHETIC)


def kd_file_splits(results: Results, name: str) -> str:
    record = results.get(name) or {}
    return "\n\n".join(
        fill(
            "kd_split.md",
            name=name,
            split=split_name,
            test_where=split["test_where"],
            val_where=split["val_where"],
            provenance=provenance(record, name),
            seeds=seeds_status(record, split),
            table=kd_split_table(split, record.get("settings", {})),
            goals=kd_goals_table(split["summary"], None),
            timing=seed_timing(split),
        )
        for split_name, split in record.get("splits", {}).items()
    )


def seed_timing(split: Record) -> str:
    """Each seed's KD/no-KD time, so that one seed slowed by other work shows as such."""
    timing = kd_timing(split)
    return f"KD training time over no-KD per seed: {timing}." if timing else ""


def kd_figure(results: Results, img: Path) -> str:
    points = kd_points(results)
    if not points:
        return ""
    plot = report_plots.accuracy_vs_latency(points, img / "kd_accuracy_latency.png")
    return f"![accuracy vs latency](img/{plot.name})"


def kd_points(results: Results) -> list[report_plots.LatencyPoint]:
    """(split, model, latency, accuracy) of every kd result, for the accuracy/latency plot."""
    points = []
    for path in sorted(results.root.glob("kd_*.json")):
        if is_variant(path):
            continue  # drawn in its twins' section (student size, unlabelled share, crop)
        for name, split in (results.get(path.name) or {}).get("splits", {}).items():
            for model in models_in(split["summary"]):
                s = split["summary"][model]
                latency, accuracy = s.get("ort_latency_ms", {}), s.get("accuracy_clip", {})
                if latency.get("mean") and accuracy.get("mean") is not None:
                    split_name = f"{path.stem.removeprefix('kd_')} {name}"
                    points.append(
                        report_plots.LatencyPoint(
                            split_name, model, latency["mean"], accuracy["mean"]
                        )
                    )
    return points


def kd_seed_reports(results: Results) -> Iterator[tuple[Record, RunReport]]:
    """Every seed's run report of every kd result, with the result it is in."""
    for path in sorted(results.root.glob("kd_*.json")):
        record = results.get(path.name) or {}
        for split in record.get("splits", {}).values():
            for report in seed_reports(split):
                yield record, report


def wall_times(results: Results) -> str:
    """How long a seed of a split took, by teacher and by machine: the runs' own `wall_s`."""
    spans: dict[tuple[str, str], list[float]] = {}
    for record, report in kd_seed_reports(results):
        if report.wall_s is not None:
            device = "a GPU" if "gpu" in record.get("machine", {}) else "a CPU"
            spans.setdefault((report.teacher_kind, device), []).append(report.wall_s)
    if not spans:
        return ""
    by_kind: dict[str, list[str]] = {}
    for (kind, device), walls in sorted(spans.items()):
        by_kind.setdefault(kind, []).append(f"{span(walls)} s on {device}")
    each = "; ".join(f"{kind} teacher {', '.join(parts)}" for kind, parts in by_kind.items())
    return f"A seed of a split took (its `wall_s`; the runs' settings differ): {each}."


def extraction_cost(results: Results) -> str:
    """What extracting MediaPipe's landmarks cost a frame in the pose-teacher runs."""
    costs = [
        report.teacher_cost.extraction_ms_per_frame
        for _, report in kd_seed_reports(results)
        if report.teacher_cost and report.teacher_cost.extraction_ms_per_frame is not None
    ]
    if not costs:
        return ""
    return (
        f"With the pose teacher, MediaPipe's landmarks are extracted once and cached "
        f"(`.benchdata/pose`); extracting them took {span(costs)} ms a frame (wall time, "
        f"`teacher_cost.extraction_ms_per_frame`)."
    )


def span(values: list[float]) -> str:
    """'lo-hi' of some values, rounded, or the one value where they round alike."""
    lo, hi = f"{min(values):,.0f}", f"{max(values):,.0f}"
    return lo if lo == hi else f"{lo}-{hi}"
