"""Training jobs in the database: create, claim (one worker per job), progress, finish.

Claiming is `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so that workers pass over
each other's rows instead of queueing on them, followed by a conditional UPDATE (status
still `queued`) whose row count decides: that makes it safe on SQLite too, where the
row lock does not exist but BEGIN IMMEDIATE serialises writers (see db/session.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from cloud.service.db.tables import TrainingJob
from cloud.service.schemas import TrainingJobCreate

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
)
FINISHED = (SUCCEEDED, FAILED, CANCELLED)
HISTORY_KEPT = 500


class JobNotFound(LookupError):
    """No training job has this id."""


class JobFinished(RuntimeError):
    """The job has finished already."""


def create_job(session: Session, params: TrainingJobCreate, who: str, now: datetime) -> TrainingJob:
    job = TrainingJob(
        id=uuid.uuid4(),
        status=QUEUED,
        params=params.model_dump(mode="json"),
        created_at=now,
        created_by=who,
        cancel_requested=False,
        progress={},
    )
    session.add(job)
    return job


def get_job(session: Session, job_id: uuid.UUID) -> TrainingJob:
    job = session.get(TrainingJob, job_id)
    if job is None:
        raise JobNotFound(f"no training job {job_id}")
    return job


def claim_next_job(
    sessions: sessionmaker[Session], worker_id: str, now: datetime
) -> TrainingJob | None:
    """Take the oldest queued job for `worker_id`, or None when there is none (or we lost)."""
    with sessions.begin() as session:
        job = session.scalars(
            select(TrainingJob)
            .where(TrainingJob.status == QUEUED)
            .order_by(TrainingJob.created_at, TrainingJob.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if job is None:
            return None
        claimed = session.execute(
            update(TrainingJob)
            .where(TrainingJob.id == job.id, TrainingJob.status == QUEUED)
            .values(status=RUNNING, worker_id=worker_id, started_at=now, heartbeat_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
    with sessions() as session:
        return session.get(TrainingJob, job.id, populate_existing=True)


def request_cancel(session: Session, job_id: uuid.UUID, now: datetime) -> TrainingJob:
    """Cancel a queued job at once; ask the worker of a running one to stop it."""
    job = session.get(TrainingJob, job_id, with_for_update=True)
    if job is None:
        raise JobNotFound(f"no training job {job_id}")
    if job.status in FINISHED:
        raise JobFinished(f"job {job_id} is {job.status} already")
    if job.status == QUEUED:
        job.status, job.finished_at = CANCELLED, now
    job.cancel_requested = True
    return job


def beat(
    sessions: sessionmaker[Session],
    job_id: uuid.UUID,
    now: datetime,
    progress: dict[str, Any] | None = None,
) -> bool:
    """Record that the job is alive (and its progress); returns whether cancel was asked."""
    values: dict[str, Any] = {"heartbeat_at": now}
    if progress is not None:
        values["progress"] = progress
    with sessions.begin() as session:
        session.execute(update(TrainingJob).where(TrainingJob.id == job_id).values(**values))
        return bool(
            session.scalar(select(TrainingJob.cancel_requested).where(TrainingJob.id == job_id))
        )


def finish_job(
    session: Session, job_id: uuid.UUID, status: str, now: datetime, **fields: Any
) -> None:
    session.execute(
        update(TrainingJob)
        .where(TrainingJob.id == job_id)
        .values(status=status, finished_at=now, heartbeat_at=now, **fields)
    )


def requeue_job(sessions: sessionmaker[Session], job_id: uuid.UUID) -> None:
    """Put a running job back in the queue (its worker is stopping)."""
    with sessions.begin() as session:
        session.execute(
            update(TrainingJob)
            .where(TrainingJob.id == job_id, TrainingJob.status == RUNNING)
            .values(status=QUEUED, worker_id=None, started_at=None)
        )


def fail_stale_jobs(sessions: sessionmaker[Session], now: datetime, stale_after_s: float) -> int:
    """Jobs whose worker stopped beating (killed, machine lost) are marked failed."""
    cutoff = now - timedelta(seconds=stale_after_s)
    with sessions.begin() as session:
        result = session.execute(
            update(TrainingJob)
            .where(TrainingJob.status == RUNNING, TrainingJob.heartbeat_at < cutoff)
            .values(
                status=FAILED,
                finished_at=now,
                error=f"the worker stopped reporting for over {stale_after_s:.0f} s",
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def add_progress(progress: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """Fold one epoch line of the pipeline into the job's progress (a new dict)."""
    history = [*progress.get("history", []), row][-HISTORY_KEPT:]
    return {
        **progress,
        "stage": row.get("model", progress.get("stage")),
        "epoch": row.get("epoch"),
        "latest": row,
        "history": history,
    }
