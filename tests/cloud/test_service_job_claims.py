"""Two workers never run the same job: claimers race on one database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cloud.service import jobs
from cloud.service.db.session import make_engine, migrate, session_factory
from cloud.service.db.tables import TrainingJob
from cloud.service.schemas import TrainingJobCreate
from shared.messages import utc_now
from tests.kit.service import database_for

JOBS = 40
CLAIMERS = 4
ROUNDS = 2 * JOBS // CLAIMERS  # enough for every job, even if some claims come back empty


@pytest.fixture(params=["sqlite", "postgresql"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A migrated database with nobody else claiming from it (no server, no worker)."""
    for url in database_for(
        request.param, tmp_path, lambda: request.getfixturevalue("postgres_url")
    ):
        engine = make_engine(url)
        migrate(engine, tmp_path)
        yield session_factory(engine)
        engine.dispose()


def test_racing_claimers_never_share_a_job(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        created = {
            jobs.create_job(session, TrainingJobCreate(dataset="synthetic"), "t", utc_now()).id
            for _ in range(JOBS)
        }
    claimed: dict[str, list] = {f"worker-{i}": [] for i in range(CLAIMERS)}
    # Rounds in lockstep: every claimer asks at the same moment, every round, so the race
    # is certain (a free-running loop let one thread take every job before the others woke).
    start = threading.Barrier(CLAIMERS, timeout=60)

    def claim_all(worker_id: str) -> None:
        for _ in range(ROUNDS):
            start.wait()
            job = jobs.claim_next_job(sessions, worker_id, utc_now())
            if job is not None:
                assert job.status == jobs.RUNNING and job.worker_id == worker_id
                claimed[worker_id].append(job.id)

    threads = [threading.Thread(target=claim_all, args=(w,)) for w in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert queued(sessions) == 0
    every = [job_id for ids in claimed.values() for job_id in ids]
    assert len(every) == len(set(every)) == JOBS and set(every) == created
    assert sum(1 for ids in claimed.values() if ids) >= 2, "the race never happened"
    with sessions() as session:
        owners = dict(session.execute(select(TrainingJob.id, TrainingJob.worker_id)).all())
    assert all(owners[job_id] == worker for worker, ids in claimed.items() for job_id in ids)


def queued(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(
            session.scalar(select(func.count()).where(TrainingJob.status == jobs.QUEUED)) or 0
        )


def test_a_stale_running_job_is_failed(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        job = jobs.create_job(session, TrainingJobCreate(dataset="synthetic"), "t", utc_now())
    claimed = jobs.claim_next_job(sessions, "w1", utc_now())
    assert claimed is not None and claimed.id == job.id
    assert jobs.fail_stale_jobs(sessions, utc_now(), stale_after_s=3600) == 0
    assert jobs.fail_stale_jobs(sessions, utc_now(), stale_after_s=0) == 1
    with sessions() as session:
        row = session.get(TrainingJob, job.id)
    assert row is not None and row.status == jobs.FAILED and "stopped reporting" in row.error
