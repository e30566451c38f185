"""The student-size section: accuracy against latency for each student input size."""

from __future__ import annotations

from pathlib import Path

from bench.report import plots as report_plots
from bench.report.kd_tables import MODEL_NAMES, models_in
from bench.report.markdown import fill, mean_std, num
from bench.report.results import Record, Results, not_run
from bench.report.twins import SIZES, Family, families, family_table, shared_splits
from cloud.training.report import STUDENTS, ModelName


def student_size_section(results: Results, img: Path) -> str:
    """A table and a plot per split of each kd result that has other-size twins."""
    found = families(results, SIZES)
    if not found:
        return not_run(
            "kd_upfall_pose_s48.json",
            "python -m bench.kd_quality --dataset upfall --teacher pose --student-size 48 "
            "--out bench/results/kd_upfall_pose_s48.json",
        )
    parts = [
        size_split(base, family, split, img)
        for base, family in found.items()
        for split in shared_splits(family)
    ]
    return fill("student_size.md", parts="\n\n".join(parts))


def size_split(base: str, family: Family, split: str, img: Path) -> str:
    rows, points = [], []
    for size, (name, record) in sorted(family.items()):
        summary = record["splits"][split]["summary"]
        rows.append(size_row(size, name, summary))
        points += [size_point(size, model, summary[model]) for model in models_in(summary)
                   if model in STUDENTS]  # fmt: skip
    plot = report_plots.student_size(points, img / f"size_{Path(base).stem}_{split}.png", split)
    header = ["input", "JSON", "params", "MACs", "ms/window",
              *(f"clip acc, {MODEL_NAMES[m]}" for m in STUDENTS),
              "fall AUC, no KD", "fall AUC, KD"]  # fmt: skip
    return family_table(f"`{base}` and its other sizes, split `{split}`", family, header, rows,
                        plot, "student input size")  # fmt: skip


def size_row(size: int, name: str, summary: Record) -> list[str]:
    base = summary[ModelName.STUDENT_SCRATCH]
    return [
        f"{size} px",
        f"`{name}`",
        num(base["params"]["mean"]),
        f"{base['macs']['mean'] / 1e6:,.1f} M",
        f"{base['ort_latency_ms']['mean']:.2f}",
        *(mean_std(summary.get(m, {}).get("accuracy_clip", {})) for m in STUDENTS),
        *(mean_std(summary.get(m, {}).get("fall_auc_window", {})) for m in STUDENTS[:2]),
    ]


def size_point(size: int, model: str, stat: Record) -> report_plots.SizePoint:
    accuracy = stat["accuracy_clip"]
    return report_plots.SizePoint(
        size=size,
        model=model,
        latency_ms=stat["ort_latency_ms"]["mean"],
        accuracy=accuracy["mean"],
        std=accuracy.get("std") or 0.0,
    )
