"""`vigil dataset info ROOT`: what a video folder holds, and which of its files cannot be read."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shared.datasets.folder import has_manifest, is_video_name, scan_folder
from shared.datasets.records import ClipRecord
from shared.video import VideoError, VideoInfo, probe_video

# Columns with more distinct values than this (descriptions, ids) are not split keys.
MAX_LISTED_VALUES = 12

# Called after each probe with (clips done, clips in all), as shared.progress.ProgressLine is.
ProgressCallback = Callable[[int, int], None]


@dataclass
class FolderReport:
    """Counts, durations and geometry of the readable clips, and what could not be read."""

    root: Path
    has_manifest: bool
    classes: dict[str, int]
    class_duration_s: dict[str, float]
    clips: int
    total_duration_s: float
    fps_min: float | None
    fps_max: float | None
    width_min: int | None
    width_max: int | None
    height_min: int | None
    height_max: int | None
    unreadable: list[tuple[Path, str]] = field(default_factory=list)
    # Video files under ROOT that the dataset leaves out (not in the manifest, or not
    # directly inside a label folder when there is no manifest).
    ignored: list[Path] = field(default_factory=list)
    span_labels: dict[str, int] = field(default_factory=dict)
    column_values: dict[str, dict[str, int]] = field(default_factory=dict)


def describe_folder(root: Path, progress: ProgressCallback | None = None) -> FolderReport:
    """Probe every clip of a folder; an unreadable file is listed with its reason."""
    records = scan_folder(root)
    probed, unreadable = probe_clips(records, progress)
    return summarise(
        root=Path(root).absolute(),
        has_manifest=has_manifest(root),
        records=records,
        probed=probed,
        unreadable=unreadable,
        ignored=find_ignored(Path(root).absolute(), records),
    )


def probe_clips(
    records: Sequence[ClipRecord], progress: ProgressCallback | None = None
) -> tuple[list[tuple[ClipRecord, VideoInfo]], list[tuple[Path, str]]]:
    """([(record, header info)] of readable clips, [(path, reason)] of the others)."""
    probed: list[tuple[ClipRecord, VideoInfo]] = []
    unreadable: list[tuple[Path, str]] = []
    for done, record in enumerate(records, start=1):
        try:
            probed.append((record, probe_video(record.path)))
        except VideoError as error:
            unreadable.append((record.path, error.reason))
        if progress is not None:
            progress(done, len(records))
    return probed, unreadable


def find_ignored(root: Path, records: Iterable[ClipRecord]) -> list[Path]:
    """Visible video files anywhere under `root` that no record names."""
    named = {record.path for record in records}
    return sorted(
        path
        for path in root.rglob("*")
        if is_video_name(path)
        and path.is_file()
        and path not in named
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )


def summarise(
    root: Path,
    has_manifest: bool,
    records: Sequence[ClipRecord],
    probed: Sequence[tuple[ClipRecord, VideoInfo]],
    unreadable: list[tuple[Path, str]],
    ignored: list[Path],
) -> FolderReport:
    """Build the report from probe results (pure: no I/O)."""
    infos = [info for _, info in probed]
    durations: defaultdict[str, float] = defaultdict(float)
    for record, info in probed:
        durations[record.label] += info.duration_s
    return FolderReport(
        root=root,
        has_manifest=has_manifest,
        classes=dict(sorted(Counter(record.label for record, _ in probed).items())),
        class_duration_s=dict(sorted(durations.items())),
        clips=len(probed),
        total_duration_s=sum(info.duration_s for info in infos),
        fps_min=min((info.fps for info in infos), default=None),
        fps_max=max((info.fps for info in infos), default=None),
        width_min=min((info.width for info in infos), default=None),
        width_max=max((info.width for info in infos), default=None),
        height_min=min((info.height for info in infos), default=None),
        height_max=max((info.height for info in infos), default=None),
        unreadable=unreadable,
        ignored=ignored,
        span_labels=dict(sorted(Counter(s.label for r in records for s in r.spans).items())),
        column_values=count_column_values(records),
    )


def count_column_values(records: Sequence[ClipRecord]) -> dict[str, dict[str, int]]:
    """Clips per value of each manifest column, numbers in numeric order."""
    columns = sorted({name for record in records for name in record.attrs})
    return {column: _count_values(r.attrs.get(column, "") for r in records) for column in columns}


def _count_values(values: Iterable[str]) -> dict[str, int]:
    counts = Counter(values)
    return {value: counts[value] for value in sorted(counts, key=_numbers_first)}


def _numbers_first(value: str) -> tuple[int, float, str]:
    """Sort key putting numbers in numeric order (2 before 10), then text."""
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)
