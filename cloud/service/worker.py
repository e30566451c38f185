"""The training worker: claim a queued job, run the pipeline in a subprocess, register.

One thread class with a shared stop event and bounded waits (the frigate pattern). A
job that fails is recorded with its error and leaves the registry as it was; a job
whose cancel is requested has its process group killed.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from typing import IO, Any

from sqlalchemy.orm import Session, sessionmaker

from cloud.service import jobs
from cloud.service.announce import ModelAnnouncer
from cloud.service.db.tables import ModelVersion, TrainingJob
from cloud.service.job_dataset import (
    export_labelled_clips,
    export_unlabelled_clips,
    resolve_folder,
)
from cloud.service.metrics import ServiceMetrics
from cloud.service.mqtt import PublishError
from cloud.service.promotion import Policy, Scores, decide_promotion
from cloud.service.registry import ModelRegistry
from cloud.service.schemas import FolderDataset, TrainingJobCreate
from cloud.service.settings import Settings
from cloud.training.job_spec import SPEC_FILE, JobSpec, SyntheticDataset
from cloud.training.report import RunReport
from shared.messages import utc_now

log = logging.getLogger(__name__)

BEAT_S = 2.0
LOG_TAIL = 40


class JobFailed(RuntimeError):
    """The job could not finish; the message is what the job records as its error."""


class JobCancelled(RuntimeError):
    """Somebody cancelled the job while it ran."""


class JobInterrupted(RuntimeError):
    """The service is stopping: the job goes back to the queue (its run folder resumes)."""


class JobWorker(threading.Thread):
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        registry: ModelRegistry,
        announcer: ModelAnnouncer,
        metrics: ServiceMetrics,
        stop: threading.Event,
    ) -> None:
        super().__init__(name="vigil-worker", daemon=True)
        self.settings, self.sessions, self.registry = settings, sessions, registry
        self.announcer, self.metrics, self.stop = announcer, metrics, stop
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.last_loop_at = time.monotonic()  # a watchdog can read it

    def run(self) -> None:
        while not self.stop.is_set():
            self.last_loop_at = time.monotonic()
            try:
                job = self.poll_once()
            except Exception:  # the loop must survive; counted and logged
                self.metrics.worker_errors.inc()
                log.exception("training worker: the job loop failed")
                job = None
            if job is None:
                self.stop.wait(self.settings.worker_poll_s)

    def poll_once(self) -> TrainingJob | None:
        """Claim and run one job; None when there was none to claim."""
        jobs.fail_stale_jobs(self.sessions, utc_now(), self.settings.job_stale_after_s)
        job = jobs.claim_next_job(self.sessions, self.worker_id, utc_now())
        if job is not None:
            self.run_job(job)
        return job

    def run_job(self, job: TrainingJob) -> None:
        started = time.monotonic()
        log.info("training job %s: started by %s", job.id, self.worker_id)
        try:
            fields = self._execute(job)
            outcome = jobs.SUCCEEDED
        except JobCancelled:
            fields, outcome = {"error": "cancelled"}, jobs.CANCELLED
        except JobInterrupted:
            jobs.requeue_job(self.sessions, job.id)
            log.info("training job %s: back in the queue (the worker is stopping)", job.id)
            return
        except Exception as exc:  # recorded as the job's error
            log.warning("training job %s failed: %s", job.id, exc)
            fields, outcome = {"error": str(exc)[-4000:] or type(exc).__name__}, jobs.FAILED
        with self.sessions.begin() as session:
            jobs.finish_job(session, job.id, outcome, utc_now(), **fields)
        seconds = time.monotonic() - started
        self.metrics.jobs.inc(outcome=outcome)
        self.metrics.job_duration.observe(seconds, outcome=outcome)
        log.info("training job %s: %s after %.1f s", job.id, outcome, seconds)

    def _execute(self, job: TrainingJob) -> dict[str, Any]:
        params = TrainingJobCreate.model_validate(job.params)
        spec = self._prepare(job, params)
        run_subprocess(spec, self.sessions, job.id, self.stop)
        return self._register(job, spec, params)

    def _prepare(self, job: TrainingJob, params: TrainingJobCreate) -> JobSpec:
        job_dir = self.settings.data_dir / "jobs" / str(job.id)
        folder = None
        if isinstance(params.dataset, FolderDataset):
            folder = resolve_folder(params.dataset.path, self.settings.dataset_roots)
        clips_dir = self.settings.data_dir / "clips"
        unlabeled_dir = None
        with self.sessions() as session:
            clips_csv = None
            if params.include_labelled_clips:
                clips_csv = export_labelled_clips(session, clips_dir, job_dir / "dataset")
            if params.unlabeled_clips:
                unlabeled_dir = job_dir / "unlabeled"
                shutil.rmtree(unlabeled_dir, ignore_errors=True)  # a requeued job starts over
                if export_unlabelled_clips(session, clips_dir, unlabeled_dir) == 0:
                    log.info("training job %s: no unlabelled clips to distil on", job.id)
                    unlabeled_dir = None
            production = self.registry.production(session)
        onnx = self.registry.artifact_path(production) if production else None
        synthetic = params.dataset if isinstance(params.dataset, SyntheticDataset) else None
        spec = JobSpec(
            params=params.training_params(),
            job_dir=job_dir,
            synthetic=synthetic,
            source_folder=folder,
            clips_csv=clips_csv,
            unlabeled_dir=unlabeled_dir,
            pose_cache=self.settings.data_dir / "pose-cache",
            production_onnx=onnx,
        )
        job_dir.mkdir(parents=True, exist_ok=True)
        (job_dir / SPEC_FILE).write_text(spec.model_dump_json(indent=2))
        return spec

    def _register(
        self, job: TrainingJob, spec: JobSpec, params: TrainingJobCreate
    ) -> dict[str, Any]:
        """Add the exported student, decide on promotion, announce; one transaction."""
        report = RunReport.model_validate_json((spec.run_dir / "report.json").read_text())
        record = report.as_json()
        metrics = {**record[report.exported], "exported": report.exported.value, "report": record}
        row: ModelVersion | None = None
        try:
            with self.sessions.begin() as session:
                row = self.registry.register(
                    session, spec.run_dir / "student.onnx", job.id, metrics, utc_now()
                )
                decision = self._decide(session, spec, row, report, params.promotion)
                if decision["promote"]:
                    self.registry.promote(session, row.version, f"job {job.id}", decision["reason"])
        except BaseException:
            if row is not None:  # rolled back: the artifact must not linger either
                self.registry.artifact_path(row).unlink(missing_ok=True)
            raise
        if decision["promote"]:
            decision["announced_sites"] = self._announce(row)
        return {"model_version": row.version, "promotion": decision}

    def _decide(
        self,
        session: Session,
        spec: JobSpec,
        row: ModelVersion,
        report: RunReport,
        policy: Policy,
    ) -> dict[str, Any]:
        production = self.registry.production(session)
        shipped = report.shipped
        candidate = Scores(shipped.macro_f1, float(shipped.fall_recall or 0.0))
        prod_scores = production_scores(spec, production, row)
        decision = decide_promotion(policy, candidate, prod_scores, production is not None)
        return {
            "policy": policy,
            "promote": decision.promote,
            "reason": decision.reason,
            "candidate": vars(candidate),
            "production": vars(prod_scores) if prod_scores else None,
            "production_version": production.version if production else None,
        }

    def _announce(self, row: ModelVersion) -> list[str] | None:
        try:
            return self.announcer.announce(row)
        except PublishError as exc:
            # Promoted in the database already; the publisher re-announces on reconnect.
            log.warning("model %s promoted but not announced yet: %s", row.version, exc)
            return None


def production_scores(
    spec: JobSpec, production: ModelVersion | None, candidate: ModelVersion
) -> Scores | None:
    """Production's scores on the job's test split, when they are comparable at all."""
    if production is None or not spec.scores_path.exists():
        return None
    if production.labels != candidate.labels:
        return None  # other labels: the scores would not measure the same thing
    scores = json.loads(spec.scores_path.read_text())
    if "error" in scores:
        log.warning("production could not be scored: %s", scores["error"])
        return None
    # No falls in the test split: no recall to lose (the candidate's reads 0 the same way).
    return Scores(float(scores["macro_f1"]), float(scores["fall_recall"] or 0.0))


def run_subprocess(
    spec: JobSpec, sessions: sessionmaker[Session], job_id: uuid.UUID, stop: threading.Event
) -> None:
    """Run the pipeline process to its end, folding its epoch lines into the job's progress."""
    log_path = spec.job_dir / "log.txt"
    process = subprocess.Popen(
        [sys.executable, "-m", "cloud.training.job", str(spec.job_dir / SPEC_FILE)],
        cwd=spec.job_dir,  # a `cloud/` folder in the worker's cwd must not shadow the package
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        start_new_session=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
    tail: deque[str] = deque(maxlen=LOG_TAIL)
    try:
        with log_path.open("a") as log_file:
            _follow(process, lines, log_file, tail, sessions, job_id, stop)
    finally:
        if process.poll() is None:
            _kill(process)
    if process.returncode != 0:
        raise JobFailed(f"the pipeline exited with {process.returncode}:\n" + "\n".join(tail))


def _follow(
    process: subprocess.Popen[str],
    lines: queue.Queue[str | None],
    log_file: IO[str],
    tail: deque[str],
    sessions: sessionmaker[Session],
    job_id: uuid.UUID,
    stop: threading.Event,
) -> None:
    progress: dict[str, Any] = {}
    next_beat = 0.0
    while True:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            line = ""
        if line is None:
            process.wait()
            return
        if line:
            log_file.write(line)
            log_file.flush()
            tail.append(line.rstrip())
            progress = fold_line(progress, line)
        if time.monotonic() >= next_beat or line.startswith("{"):
            next_beat = time.monotonic() + BEAT_S
            if stop.is_set():
                raise JobInterrupted()
            if jobs.beat(sessions, job_id, utc_now(), progress):
                raise JobCancelled()


def fold_line(progress: dict[str, Any], line: str) -> dict[str, Any]:
    if not line.startswith("{"):
        return progress
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        return progress
    if isinstance(row, dict) and "epoch" in row:
        return jobs.add_progress(progress, row)
    if isinstance(row, dict) and "stage" in row:
        return {**progress, "stage": row["stage"]}
    return progress


def _pump(stream: IO[str] | None, lines: queue.Queue[str | None]) -> None:
    assert stream is not None
    for line in stream:
        lines.put(line)
    lines.put(None)


def _kill(process: subprocess.Popen[str]) -> None:
    """Stop the pipeline and its children (data-loader workers): the whole process group."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass
