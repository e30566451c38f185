"""Find the clips of a video folder: `ROOT/manifest.csv` when present, else `ROOT/<label>/*`."""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from shared.datasets.records import ClipRecord, normalise_label
from shared.datasets.spans import parse_spans
from shared.video import VIDEO_SUFFIXES

MANIFEST_NAME = "manifest.csv"
REQUIRED_COLUMNS = ("path", "label")
SPANS_COLUMN = "classes_sec"
_MAX_NAMED = 10


class ManifestError(ValueError):
    """A manifest is malformed or disagrees with the files; the message names file and line."""


def load_folder(root: Path) -> list[ClipRecord]:
    """The clips of a video folder, sorted by path; every listed file must exist."""
    records = scan_folder(root)
    missing = [record.path for record in records if not record.path.is_file()]
    if missing:
        raise ManifestError(
            f"{Path(root) / MANIFEST_NAME} lists {len(missing)} file(s) that do not exist: "
            + _name_some(missing)
        )
    return records


def scan_folder(root: Path) -> list[ClipRecord]:
    """The clips a folder declares, sorted by path, without checking that listed files exist."""
    root = _checked_root(root)
    manifest = root / MANIFEST_NAME
    if manifest.is_file():
        records = read_manifest(manifest)
    else:
        records = _records_from_label_folders(root)
    if not records:
        where = manifest if manifest.is_file() else f"{root}/<label>/*{'|*'.join(VIDEO_SUFFIXES)}"
        raise ValueError(f"no video clips found in {where}")
    return sorted(records, key=lambda record: str(record.path))


def has_manifest(root: Path) -> bool:
    return (Path(root) / MANIFEST_NAME).is_file()


def read_manifest(manifest: Path) -> list[ClipRecord]:
    """Read `path,label,...` rows; paths are relative to the manifest's folder."""
    with manifest.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        _check_header(manifest, reader.fieldnames)
        records = [_record_from_row(manifest, reader.line_num, row) for row in reader]
    _check_unique_paths(manifest, records)
    return records


def _checked_root(root: Path) -> Path:
    root = Path(root).absolute()
    if not root.exists():
        raise FileNotFoundError(f"dataset folder {root} does not exist")
    if not root.is_dir():
        raise NotADirectoryError(f"dataset folder {root} is not a directory")
    return root


def _check_header(manifest: Path, fieldnames: Sequence[str] | None) -> None:
    columns = [name.strip() for name in fieldnames or ()]
    absent = [name for name in REQUIRED_COLUMNS if name not in columns]
    if absent:
        raise ManifestError(f"{manifest}: needs columns {list(REQUIRED_COLUMNS)}, has {columns}")
    repeated = sorted(name for name, count in Counter(columns).items() if count > 1)
    if repeated:
        raise ManifestError(f"{manifest}: column(s) {repeated} appear more than once")


def _record_from_row(manifest: Path, line: int, row: dict[str | None, str | None]) -> ClipRecord:
    where = f"{manifest} line {line}"
    if None in row:
        raise ManifestError(f"{where}: more fields than the header has columns (unquoted comma?)")
    cells = {str(name).strip(): (value or "").strip() for name, value in row.items()}
    relative, label = cells.pop("path"), cells.pop("label")
    if not relative or not label:
        raise ManifestError(f"{where}: `path` and `label` must not be empty")
    try:
        spans = parse_spans(cells.get(SPANS_COLUMN, ""))
        return ClipRecord(_under(manifest.parent, relative), normalise_label(label), cells, spans)
    except ValueError as error:
        raise ManifestError(f"{where}: {error}") from None


def _under(root: Path, relative: str) -> Path:
    # Manifests written on Windows use backslashes; normpath keeps symlinked roots intact.
    return Path(os.path.normpath(root / relative.replace("\\", "/")))


def _check_unique_paths(manifest: Path, records: Iterable[ClipRecord]) -> None:
    counts = Counter(record.path for record in records)
    repeated = [path for path, count in counts.items() if count > 1]
    if repeated:
        raise ManifestError(f"{manifest}: file(s) listed more than once: {_name_some(repeated)}")


def _records_from_label_folders(root: Path) -> list[ClipRecord]:
    return [
        ClipRecord(path=video, label=normalise_label(folder.name))
        for folder in sorted(root.iterdir())
        if folder.is_dir() and not folder.name.startswith(".")
        for video in video_files(folder)
    ]


def video_files(folder: Path) -> list[Path]:
    """Visible files directly in `folder` whose suffix (any case) is a video suffix."""
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and not path.name.startswith(".") and is_video_name(path)
    )


def is_video_name(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


def _name_some(paths: Sequence[Path]) -> str:
    names = ", ".join(str(path) for path in paths[:_MAX_NAMED])
    return names + (f" and {len(paths) - _MAX_NAMED} more" if len(paths) > _MAX_NAMED else "")


def write_manifest(path: Path, columns: Sequence[str], rows: Iterable[dict[str, str]]) -> Path:
    """Write rows as a manifest CSV (`path,label` first); a missing column is left empty."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path
