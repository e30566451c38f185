"""Clips: store an upload (checked by decoding it), list them for labelling, label them."""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from cloud.service.db.tables import Clip, ClipLabel
from shared.labels import DEFAULT_LABELS
from shared.messages import ClipMeta
from shared.video import VideoError, probe_video

CHUNK = 1 << 20


class ClipTooLarge(ValueError):
    """The upload is over the size limit."""


class NotAVideo(ValueError):
    """The upload does not decode as a video."""


class ClipConflict(RuntimeError):
    """A clip with this id exists with other content."""


class ClipNotFound(LookupError):
    """No clip has this id."""


class LabelNotAllowed(ValueError):
    """The label is not in the model's label set."""


@dataclass(frozen=True)
class Upload:
    path: Path
    sha256: str
    size: int


def receive_upload(stream: BinaryIO, tmp_dir: Path, limit: int) -> Upload:
    """Copy an upload to a temporary file, hashing it and stopping past `limit` bytes."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    path = tmp_dir / f"upload-{uuid.uuid4().hex}.mp4"
    digest, size = hashlib.sha256(), 0
    try:
        with path.open("wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ClipTooLarge(f"clip is over the {limit}-byte limit")
                digest.update(chunk)
                out.write(chunk)
        check_video(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Upload(path, digest.hexdigest(), size)


def check_video(path: Path) -> None:
    try:
        probe_video(path)
    except VideoError as exc:
        raise NotAVideo(f"the upload is not a video OpenCV can decode: {exc.reason}") from None


def store_clip(
    session: Session, meta: ClipMeta, upload: Upload, clips_dir: Path, now: datetime
) -> tuple[Clip, bool]:
    """Keep the clip under a server-chosen name; (clip, created). A re-send is not a copy."""
    existing = session.get(Clip, meta.clip_id)
    if existing is not None:
        upload.path.unlink(missing_ok=True)
        if existing.sha256 != upload.sha256:
            raise ClipConflict(f"clip {meta.clip_id} exists with other content")
        return existing, False
    name = f"{uuid.uuid4().hex}.mp4"
    clips_dir.mkdir(parents=True, exist_ok=True)
    os.replace(upload.path, clips_dir / name)
    clip = Clip(
        **meta.model_dump(exclude={"clip_id"}),
        id=meta.clip_id,
        size_bytes=upload.size,
        sha256=upload.sha256,
        stored_name=name,
        uploaded_at=now,
    )
    session.add(clip)
    return clip, True


def list_clips(
    session: Session,
    labelled: bool | None,
    device_id: str | None,
    site: str | None,
    limit: int,
    offset: int,
) -> list[Clip]:
    """Unlabelled first, then the most uncertain (highest entropy, then smallest margin)."""
    query = select(Clip)
    if labelled is not None:
        query = query.where(Clip.label.is_not(None) if labelled else Clip.label.is_(None))
    if device_id is not None:
        query = query.where(Clip.device_id == device_id)
    if site is not None:
        query = query.where(Clip.site == site)
    unlabelled_first = case((Clip.label.is_(None), 0), else_=1)
    order = (unlabelled_first, Clip.entropy.desc(), Clip.margin.asc(), Clip.uploaded_at.desc())
    return list(session.scalars(query.order_by(*order).limit(limit).offset(offset)))


def get_clip(session: Session, clip_id: uuid.UUID) -> Clip:
    clip = session.get(Clip, clip_id)
    if clip is None:
        raise ClipNotFound(f"no clip {clip_id}")
    return clip


def allowed_labels(clip: Clip, production_labels: list[str] | None) -> set[str]:
    """The production model's labels (else the defaults) plus those the clip's model knew."""
    return set(production_labels or DEFAULT_LABELS) | set(clip.probabilities)


def label_clip(
    session: Session, clip: Clip, label: str, who: str, now: datetime, allowed: set[str]
) -> Clip:
    if label not in allowed:
        raise LabelNotAllowed(f"label {label!r} is not one of {sorted(allowed)}")
    clip.label, clip.labelled_by, clip.labelled_at = label, who, now
    session.add(ClipLabel(clip_id=clip.id, label=label, labelled_by=who, labelled_at=now))
    return clip
