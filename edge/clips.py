"""Clips of unsure windows and of confirmed falls: cut in the inference stage, written by
a worker.

A clip spans the window plus `pre_s`/`post_s` of context, at the student's input size
unless the site opted in to a higher resolution (`clips.resolution`). The video is an
mp4v file in the outbox's clip folder; its ClipMeta row goes into the outbox, and both
travel to the cloud by HTTP multipart.

A confirmed fall (the decision stage's alarm) asks for a clip of its own, reason `alert`,
from the window that showed the motion to `post_s` after the confirmation, under the
same privacy rules; it is not rate-limited (one a fall), and the answer a carer gives
when acknowledging the alert labels it in the cloud. The ring keeps enough for it at the
camera's pace; a file played faster than real time can run the frames ahead of the
decisions, and its fall clips then start later than the motion.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.capture import Frame, put_bounded
from edge.emit import DeviceIdentity, WallClock
from edge.inference import FrameRing, WindowResult
from edge.outbox import ItemKind, OutboxItem, OutboxStore
from edge.stage import QueueWorker
from edge.stats import AgentStats
from edge.thresholds import LiveThresholds
from edge.uncertainty import ClipRateLimiter, Uncertainty, assess, is_unsure
from shared.messages import ClipMeta, ClipReason
from shared.preprocess import downsample_frame
from shared.video import write_video

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClipRequest:
    clip_id: uuid.UUID
    t0: float
    t1: float
    result: WindowResult
    uncertainty: Uncertainty
    reason: ClipReason = ClipReason.UNSURE


@dataclass(frozen=True)
class ClipJob:
    request: ClipRequest
    frames: list[Frame]


ClipQueue = queue.Queue[ClipJob | None]


class ClipCollector:
    """Decides which windows become clips and cuts their frames from the ring."""

    def __init__(
        self,
        limiter: ClipRateLimiter,
        thresholds: LiveThresholds,
        pre_s: float,
        post_s: float,
        jobs: ClipQueue,
        stop_event: threading.Event,
    ) -> None:
        self.limiter = limiter
        self.thresholds = thresholds
        self.pre_s = pre_s
        self.post_s = post_s
        self.jobs = jobs
        self.stop_event = stop_event
        self._pending: list[ClipRequest] = []
        self._alerts: list[ClipRequest] = []  # from the decision stage, under the lock
        self._lock = threading.Lock()
        self._final_ring: FrameRing | None = None  # the stream is over: what it left

    def consider(self, result: WindowResult) -> None:
        u = assess(result.probs)
        if not is_unsure(u, self.thresholds.get()):
            return
        if not self.limiter.allow(result.labels[u.predicted], result.t_end):
            return
        t0, t1 = result.t_start - self.pre_s, result.t_end + self.post_s
        self._pending.append(ClipRequest(uuid.uuid4(), t0, t1, result, u))
        log.info(
            "unsure window at %.2f s (entropy %.2f, margin %.2f): clip queued",
            result.t_end,
            u.entropy,
            u.margin,
        )

    def request_alert(self, result: WindowResult, since_s: float) -> None:
        """A fall confirmed at `result` that began at `since_s` (video s): clip it, from
        the window that showed the motion. Thread-safe: the decision stage calls it."""
        t0 = since_s - (result.t_end - result.t_start) - self.pre_s
        request = ClipRequest(
            uuid.uuid4(), t0, result.t_end + self.post_s, result, assess(result.probs),
            ClipReason.ALERT,
        )  # fmt: skip
        log.info("fall confirmed at %.2f s: clip queued", result.t_end)
        with self._lock:
            if self._final_ring is None:
                self._alerts.append(request)
                return
            ring = self._final_ring  # a file ended before the decision: no more frames come
        frames = ring.between(request.t0, request.t1)
        if frames:
            put_bounded(self.jobs, ClipJob(request, frames), self.stop_event)

    def flush(self, ring: FrameRing, final: bool) -> None:
        """Hand over every pending clip whose context has been captured (all, at the end)."""
        with self._lock:
            self._pending += self._alerts
            self._alerts = []
            if final:
                self._final_ring = ring
        latest = ring.latest_ts
        ready = [r for r in self._pending if final or (latest is not None and latest >= r.t1)]
        for request in ready:
            self._pending.remove(request)
            frames = ring.between(request.t0, request.t1)
            if frames:
                put_bounded(self.jobs, ClipJob(request, frames), self.stop_event)

    def close(self) -> None:
        """Tell the writer no more clips are coming: the decision stage calls it as it
        ends, after the inference stage, so a fall decided last still gets its clip."""
        put_bounded(self.jobs, None, self.stop_event)


def clip_images(frames: list[Frame]) -> list[np.ndarray]:
    """The frames to write: clip-resolution copies when kept, else the model-size ones."""
    images = [f.clip if f.clip is not None else f.small for f in frames]
    height, width = images[0].shape[:2]
    return [downsample_frame(img, height, width) for img in images]


def clip_fps(timestamps: list[float]) -> float:
    """Frame rate from the clip's own timestamps (1 fps for a single frame)."""
    if len(timestamps) < 2 or timestamps[-1] <= timestamps[0]:
        return 1.0
    return float(min(max((len(timestamps) - 1) / (timestamps[-1] - timestamps[0]), 0.1), 240.0))


def clip_meta(
    job: ClipJob, identity: DeviceIdentity, clock: WallClock, size: tuple[int, int], fps: float
) -> ClipMeta:
    result, u = job.request.result, job.request.uncertainty
    pairs = zip(result.labels, result.probs, strict=True)
    probs = {label: float(min(max(p, 0.0), 1.0)) for label, p in pairs}
    return ClipMeta(
        clip_id=job.request.clip_id,
        device_id=identity.device_id,
        site=identity.site,
        camera=identity.camera,
        reason=job.request.reason,
        started_at=clock.at(job.frames[0].ts),
        ended_at=clock.at(job.frames[-1].ts),
        model_version=result.model_version,
        predicted=result.labels[u.predicted],
        probabilities=probs,
        entropy=float(u.entropy),
        margin=float(u.margin),
        width=int(size[1]),
        height=int(size[0]),
        fps=fps,
        frames=len(job.frames),
    )


class ClipWriter(QueueWorker[ClipJob]):
    """Writes each clip as mp4v and queues it with its ClipMeta in the outbox."""

    def __init__(
        self,
        jobs: ClipQueue,
        outbox: OutboxStore,
        clip_dir: Path,
        identity: DeviceIdentity,
        clock: WallClock,
        stats: AgentStats,
        stop_event: threading.Event,
    ) -> None:
        super().__init__("clips", jobs, stats, stop_event)
        self.outbox = outbox
        self.clip_dir = clip_dir
        self.identity = identity
        self.clock = clock
        self.written = 0

    def handle(self, item: ClipJob) -> None:
        self.write(item)

    def describe(self, item: ClipJob) -> str:
        return f"clip {item.request.clip_id}"

    def write(self, job: ClipJob) -> ClipMeta:
        images = clip_images(job.frames)
        fps = clip_fps([f.ts for f in job.frames])
        path = write_video(self.clip_dir / f"{job.request.clip_id}.mp4", images, fps)
        meta = clip_meta(job, self.identity, self.clock, images[0].shape[:2], fps)
        self.outbox.put(
            OutboxItem(
                kind=ItemKind.CLIP,
                key=str(meta.clip_id),
                payload=meta.model_dump_json(),
                site=meta.site,
                device_id=meta.device_id,
                file_path=str(path),
            )
        )
        self.written += 1
        return meta
