"""Render a FolderReport as the plain-text table `vigil dataset info` prints."""

from __future__ import annotations

from pathlib import Path

from shared.datasets.folder import MANIFEST_NAME, SPANS_COLUMN
from shared.datasets.report import MAX_LISTED_VALUES, FolderReport

LINE_WIDTH = 100


def format_report(report: FolderReport) -> str:
    """Human-readable summary of a video folder."""
    sections = [
        _summary_lines(report),
        _class_lines(report),
        _column_lines(report),
        _span_lines(report),
        _problem_lines(report),
    ]
    return "\n\n".join("\n".join(lines) for lines in sections if lines)


def _summary_lines(report: FolderReport) -> list[str]:
    source = MANIFEST_NAME if report.has_manifest else "label folders (no manifest.csv)"
    lines = [
        f"Dataset     {report.root}",
        f"Labels from {source}",
        f"Clips       {report.clips} readable, {len(report.unreadable)} unreadable, "
        f"{len(report.classes)} classes, {_duration(report.total_duration_s)} in all",
    ]
    if report.fps_min is not None and report.fps_max is not None:
        fps = _span_of(f"{report.fps_min:.2f}", f"{report.fps_max:.2f}")
        lines.append(f"Frame rate  {fps} fps")
        lines.append(
            f"Frame size  width {_span_of(report.width_min, report.width_max)}, "
            f"height {_span_of(report.height_min, report.height_max)}"
        )
    return lines


def _class_lines(report: FolderReport) -> list[str]:
    if not report.classes:
        return []
    width = max(len("class"), *(len(label) for label in report.classes))
    lines = [f"{'class':<{width}}  {'clips':>5}  {'duration':>10}"]
    for label, count in report.classes.items():
        duration = _duration(report.class_duration_s.get(label, 0.0))
        lines.append(f"{label:<{width}}  {count:>5}  {duration:>10}")
    lines.append(f"{'total':<{width}}  {report.clips:>5}  {_duration(report.total_duration_s):>10}")
    return lines


def _column_lines(report: FolderReport) -> list[str]:
    listed = {c: v for c, v in report.column_values.items() if c != SPANS_COLUMN}
    if not listed:
        return []
    width = max(len(column) for column in listed)
    lines = ["Columns to split by (--test-where COLUMN=VALUE), clips per value:"]
    for column, values in listed.items():
        if len(values) > MAX_LISTED_VALUES:
            shown = [f"{len(values)} distinct values"]
        else:
            shown = [f"{value or '(empty)'} ({count})" for value, count in values.items()]
        lines += _wrapped(shown, f"  {column:<{width}}  ")
    return lines


def _span_lines(report: FolderReport) -> list[str]:
    if not report.span_labels:
        return []
    counts = [f"{label} ({count})" for label, count in report.span_labels.items()]
    return [f"Timed sub-activities ({SPANS_COLUMN}), spans per label:", *_wrapped(counts, "  ")]


def _problem_lines(report: FolderReport) -> list[str]:
    lines = []
    if report.unreadable:
        lines.append(f"Unreadable files ({len(report.unreadable)}):")
        lines += [f"  {_relative(path, report.root)}: {why}" for path, why in report.unreadable]
    if report.ignored:
        why = f"not listed in {MANIFEST_NAME}" if report.has_manifest else "not in a label folder"
        lines.append(f"Video files left out of the dataset ({len(report.ignored)}, {why}):")
        lines += [f"  {_relative(path, report.root)}" for path in report.ignored]
    return lines


def _wrapped(items: list[str], indent: str) -> list[str]:
    """Join items with `, ` into lines of at most LINE_WIDTH, never breaking an item."""
    lines = [indent + items[0]]
    for item in items[1:]:
        if len(lines[-1]) + 2 + len(item) > LINE_WIDTH:
            lines[-1] += ","
            lines.append(" " * len(indent) + item)
        else:
            lines[-1] += ", " + item
    return lines


def _span_of(low: object, high: object) -> str:
    return f"{low}" if low == high else f"{low}-{high}"


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.1f} s"


def _relative(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
