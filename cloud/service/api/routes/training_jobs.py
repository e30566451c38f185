"""Training jobs: create (202), status with progress, logs, training curves, cancel."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import FileResponse, PlainTextResponse
from sqlalchemy import select

from cloud.service import jobs
from cloud.service.api.deps import (
    CurrentAdmin,
    CurrentViewer,
    ServicesDep,
    SessionDep,
    invalid_input,
)
from cloud.service.db.tables import TrainingJob
from cloud.service.job_dataset import DatasetNotAllowed, resolve_folder
from cloud.service.schemas import FolderDataset, TrainingJobCreate, TrainingJobPublic
from shared.messages import utc_now

router = APIRouter(prefix="/training-jobs", tags=["training jobs"])


@router.post("", status_code=status.HTTP_202_ACCEPTED)
def create_training_job(
    body: TrainingJobCreate, session: SessionDep, services: ServicesDep, admin: CurrentAdmin
) -> TrainingJobPublic:
    """Queue a training run (teacher, KD student, export); a worker picks it up."""
    if isinstance(body.dataset, FolderDataset):
        try:
            resolve_folder(body.dataset.path, services.settings.dataset_roots)
        except DatasetNotAllowed as exc:
            raise invalid_input(("body", "dataset", "path"), str(exc)) from None
    job = jobs.create_job(session, body, admin.name, utc_now())
    session.commit()
    return TrainingJobPublic.model_validate(job)


@router.get("")
def list_training_jobs(
    session: SessionDep, _: CurrentViewer, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[TrainingJobPublic]:
    """Jobs, newest first."""
    rows = session.scalars(select(TrainingJob).order_by(TrainingJob.created_at.desc()).limit(limit))
    return [TrainingJobPublic.model_validate(row) for row in rows]


@router.get("/{job_id}")
def read_training_job(
    job_id: uuid.UUID, session: SessionDep, _: CurrentViewer
) -> TrainingJobPublic:
    """A job's status, progress (epoch, losses, metrics), error and resulting model."""
    try:
        return TrainingJobPublic.model_validate(jobs.get_job(session, job_id))
    except jobs.JobNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None


@router.get("/{job_id}/logs", response_class=PlainTextResponse)
def read_training_job_logs(
    job_id: uuid.UUID,
    session: SessionDep,
    services: ServicesDep,
    _: CurrentViewer,
    tail: Annotated[int, Query(ge=1, le=100_000)] = 500,
) -> str:
    """The last `tail` lines the pipeline printed."""
    try:
        jobs.get_job(session, job_id)
    except jobs.JobNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    path = services.settings.data_dir / "jobs" / str(job_id) / "log.txt"
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-tail:]) + "\n"


@router.get("/{job_id}/curves.png", response_class=FileResponse)
def read_training_job_curves(
    job_id: uuid.UUID, session: SessionDep, services: ServicesDep, _: CurrentViewer
) -> FileResponse:
    """The run's training curves (PNG): 404 until the pipeline has drawn them, at its end."""
    try:
        jobs.get_job(session, job_id)
    except jobs.JobNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    path = services.settings.data_dir / "jobs" / str(job_id) / "run" / "curves.png"
    if not path.exists():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"job {job_id} has no curves yet")
    return FileResponse(path, media_type="image/png")


@router.post("/{job_id}/cancel")
def cancel_training_job(
    job_id: uuid.UUID, session: SessionDep, _: CurrentAdmin
) -> TrainingJobPublic:
    """Cancel a queued job, or stop a running one (its worker kills the pipeline)."""
    try:
        job = jobs.request_cancel(session, job_id, utc_now())
    except jobs.JobNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except jobs.JobFinished as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    session.commit()
    return TrainingJobPublic.model_validate(job)
