"""Clips: a device uploads one (meta + video); viewers list, watch and label them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Query, Response, UploadFile, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from pydantic import ValidationError

from cloud.service.api.deps import (
    CurrentViewer,
    IngestingDevice,
    Offset,
    ServicesDep,
    SessionDep,
    invalid_input,
)
from cloud.service.clip_frames import frame_sheet
from cloud.service.clips import (
    ClipConflict,
    ClipNotFound,
    ClipTooLarge,
    LabelNotAllowed,
    NotAVideo,
    allowed_labels,
    get_clip,
    label_clip,
    list_clips,
    receive_upload,
    store_clip,
)
from cloud.service.outcomes import label_new_clip
from cloud.service.schemas import ClipLabelCreate, ClipPublic
from shared.messages import ClipMeta, Id, utc_now
from shared.video import VideoError

router = APIRouter(prefix="/clips", tags=["clips"])


@router.post("", status_code=status.HTTP_201_CREATED)
def upload_clip(
    meta: Annotated[str, Form(description="ClipMeta as JSON")],
    video: Annotated[UploadFile, File(description="the clip (any container OpenCV decodes)")],
    response: Response,
    device: IngestingDevice,
    session: SessionDep,
    services: ServicesDep,
) -> ClipPublic:
    """Upload a clip of the device's own camera; 413 past the size limit, 422 if not a video."""
    try:
        clip_meta = ClipMeta.model_validate_json(meta)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from None
    if clip_meta.device_id != device.device_id or clip_meta.site != device.site:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a device uploads only its own clips")
    limit = services.settings.clip_max_bytes
    if video.size is not None and video.size > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"clip is over {limit} bytes")
    try:
        upload = receive_upload(video.file, services.settings.data_dir / "tmp", limit)
    except ClipTooLarge as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(exc)) from None
    except NotAVideo as exc:
        raise invalid_input(("body", "video"), str(exc)) from None
    try:
        clip, created = store_clip(
            session, clip_meta, upload, services.settings.data_dir / "clips", utc_now()
        )
    except ClipConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    if created:  # a fall's clip whose alert was answered already: that answer labels it
        production = services.registry.production(session)
        label_new_clip(session, clip, production.labels if production else None, utc_now())
    session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return ClipPublic.model_validate(clip)


@router.get("")
def read_clips(
    session: SessionDep,
    _: CurrentViewer,
    labelled: bool | None = None,
    device_id: Id | None = None,
    site: Id | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> list[ClipPublic]:
    """Clips to label: unlabelled first, then the most uncertain first."""
    rows = list_clips(session, labelled, device_id, site, limit, offset)
    return [ClipPublic.model_validate(row) for row in rows]


@router.get("/{clip_id}")
def read_clip(clip_id: uuid.UUID, session: SessionDep, _: CurrentViewer) -> ClipPublic:
    """One clip's metadata and label."""
    try:
        return ClipPublic.model_validate(get_clip(session, clip_id))
    except ClipNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None


@router.get("/{clip_id}/video", response_class=FileResponse)
def read_clip_video(
    clip_id: uuid.UUID, session: SessionDep, services: ServicesDep, _: CurrentViewer
) -> FileResponse:
    """The clip's video file."""
    try:
        clip = get_clip(session, clip_id)
    except ClipNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    path = services.settings.data_dir / "clips" / clip.stored_name
    return FileResponse(path, media_type="video/mp4", filename=f"{clip.id}.mp4")


@router.get("/{clip_id}/frames.png", response_class=Response)
def read_clip_frames(
    clip_id: uuid.UUID, session: SessionDep, services: ServicesDep, _: CurrentViewer
) -> Response:
    """The clip's frames tiled row by row in one PNG, for browsers that cannot play mp4v.

    Headers say how to cut it: `X-Vigil-Frames`, `X-Vigil-Columns`, `X-Vigil-Frame-Width`,
    `X-Vigil-Frame-Height`, and `X-Vigil-Fps` to play the frames at.
    """
    try:
        clip = get_clip(session, clip_id)
        sheet = frame_sheet(services.settings.data_dir / "clips" / clip.stored_name)
    except ClipNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except VideoError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.reason) from None
    layout = {
        "X-Vigil-Frames": sheet.frames,
        "X-Vigil-Columns": sheet.columns,
        "X-Vigil-Frame-Width": sheet.width,
        "X-Vigil-Frame-Height": sheet.height,
        "X-Vigil-Fps": round(sheet.fps, 3),
    }
    headers = {key: str(value) for key, value in layout.items()}
    return Response(sheet.png, media_type="image/png", headers=headers)


@router.put("/{clip_id}/label")
def put_clip_label(
    clip_id: uuid.UUID,
    body: ClipLabelCreate,
    session: SessionDep,
    services: ServicesDep,
    viewer: CurrentViewer,
) -> ClipPublic:
    """Label a clip with one of the model's labels; who and when are recorded."""
    production = services.registry.production(session)
    try:
        clip = get_clip(session, clip_id)
        allowed = allowed_labels(clip, production.labels if production else None)
        label_clip(session, clip, body.label, viewer.name, utc_now(), allowed)
    except ClipNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except LabelNotAllowed as exc:
        raise invalid_input(("body", "label"), str(exc)) from None
    session.commit()
    return ClipPublic.model_validate(clip)
