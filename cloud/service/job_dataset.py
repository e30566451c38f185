"""A training job's dataset: synthetic or a server folder, plus the labelled clips.

Labelled clips are exported into the job's folder as `<label>/<clip>.mp4`; a manifest
then lists the source's clips (absolute paths, their own columns kept, so `--test-where`
still works) and the exported ones, marked `origin=clip`.
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.service.db.models import Clip
from shared.datasets.folder import MANIFEST_NAME, scan_folder

CLIPS_CSV = "clips.csv"
CLIP_COLUMNS = ("origin", "clip_site", "clip_device", "clip_camera")


class DatasetNotAllowed(ValueError):
    """The folder is not under an allowed dataset root, or is not a folder."""


def resolve_folder(path: str, roots: list[Path]) -> Path:
    """The real folder `path` names (absolute, or relative to a root), if under a root."""
    candidates = [Path(path)] if Path(path).is_absolute() else [r / path for r in roots]
    for candidate in candidates:
        real = candidate.resolve()
        inside = any(real.is_relative_to(root.resolve()) for root in roots)
        if inside and real.is_dir():
            return real
    raise DatasetNotAllowed(
        f"dataset folder {path!r} is not a folder under an allowed root (VIGIL_DATASET_ROOTS)"
    )


def export_labelled_clips(session: Session, clips_dir: Path, out_dir: Path) -> Path | None:
    """Copy (hard-link) every labelled clip to `out_dir/<label>/<id>.mp4`; write clips.csv."""
    clips = list(session.scalars(select(Clip).where(Clip.label.is_not(None)).order_by(Clip.id)))
    if not clips:
        return None
    rows: list[dict[str, str]] = []
    for clip in clips:
        target = out_dir / str(clip.label) / f"{clip.id}.mp4"
        _link_or_copy(clips_dir / clip.stored_name, target)
        rows.append(
            {
                "path": str(target),
                "label": str(clip.label),
                "origin": "clip",
                "clip_site": clip.site,
                "clip_device": clip.device_id,
                "clip_camera": clip.camera,
            }
        )
    return _write_csv(out_dir / CLIPS_CSV, ["path", "label", *CLIP_COLUMNS], rows)


def export_unlabelled_clips(session: Session, clips_dir: Path, out_dir: Path) -> int:
    """Hard-link every clip nobody has labelled to `out_dir/<id>.mp4`; how many there are.

    These are the site's own footage the student has no labels for: the teacher labels
    them for the distillation term. A clip whose file is gone is skipped, not fatal.
    """
    clips = list(session.scalars(select(Clip).where(Clip.label.is_(None)).order_by(Clip.id)))
    count = 0
    for clip in clips:
        source = clips_dir / clip.stored_name
        if source.is_file():
            _link_or_copy(source, out_dir / f"{clip.id}.mp4")
            count += 1
    return count


def merge_manifest(source: Path, clips_csv: Path, out_dir: Path) -> Path:
    """Write `out_dir/manifest.csv`: the source's clips and the exported clips."""
    source_rows = _source_rows(source)
    with clips_csv.open(newline="") as handle:
        clip_rows = list(csv.DictReader(handle))
    columns = ["path", "label"]
    for row in source_rows:
        columns += [c for c in row if c not in columns]
    columns += [c for c in CLIP_COLUMNS if c not in columns]
    for row in source_rows:
        row.setdefault("origin", "dataset")
    return _write_csv(out_dir / MANIFEST_NAME, columns, source_rows + clip_rows)


def _source_rows(source: Path) -> list[dict[str, str]]:
    manifest = source / MANIFEST_NAME
    if not manifest.is_file():
        return [{"path": str(r.path), "label": r.label} for r in scan_folder(source)]
    with manifest.open(newline="", encoding="utf-8-sig") as handle:
        rows = [{k.strip(): (v or "") for k, v in row.items()} for row in csv.DictReader(handle)]
    for row in rows:
        row["path"] = os.path.normpath(source / row["path"].replace("\\", "/"))
    return rows


def _write_csv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
