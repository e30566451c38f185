"""A training job's data from the service: its folder, checked, and the uploaded clips.

Labelled clips are exported into the job's folder as `<label>/<clip>.mp4` with a
`clips.csv`, which the job's subprocess merges into the dataset's manifest
(`cloud.training.job.merge_manifest`); unlabelled clips become a folder of videos.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.service.db.tables import Clip
from cloud.training.job_spec import CLIP_COLUMNS, CLIPS_CSV
from shared.datasets.folder import write_manifest


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
    return write_manifest(out_dir / CLIPS_CSV, ["path", "label", *CLIP_COLUMNS], rows)


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


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
