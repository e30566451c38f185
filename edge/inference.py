"""Inference: keep a ring of recent small frames, run the student every hop of video time.

The window is sampled by time with `shared.preprocess.window_indices` and turned into
the model's input with `window_to_input`: the very functions training uses. The ring
lives in this thread only; clips are cut from it here too (by the `ClipCollector`), so
a frame can never be evicted between the decision to keep a clip and its capture.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from edge.backend import ModelHolder
from edge.capture import Frame, FrameQueue, put_bounded
from edge.stage import QueueWorker
from edge.stats import AgentStats
from shared.modelmeta import ModelMetadata
from shared.preprocess import window_indices, window_to_input

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WindowResult:
    """The student's output for the window ending at `t_end` (seconds)."""

    t_end: float
    t_start: float
    probs: np.ndarray
    meta: ModelMetadata
    latency_s: float

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.meta.labels)

    @property
    def model_version(self) -> str:
        return self.meta.model_version


# Results travel to the decision stage; None marks the end of the stream.
ResultQueue = queue.Queue[WindowResult | None]


class FrameRing:
    """The last `keep_s` seconds of frames, oldest first."""

    def __init__(self, keep_s: float) -> None:
        self.keep_s = keep_s
        self._frames: deque[Frame] = deque()

    def append(self, frame: Frame) -> None:
        if self._frames and frame.ts < self._frames[-1].ts:
            raise ValueError(f"frame at {frame.ts:.3f} s is older than the ring's newest")
        self._frames.append(frame)
        while self._frames and frame.ts - self._frames[0].ts > self.keep_s:
            self._frames.popleft()

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def latest_ts(self) -> float | None:
        return self._frames[-1].ts if self._frames else None

    def sample(self, indices: Sequence[int] | np.ndarray) -> list[Frame]:
        return [self._frames[int(i)] for i in indices]

    def timestamps(self) -> np.ndarray:
        return np.fromiter((f.ts for f in self._frames), dtype=np.float64, count=len(self))

    def between(self, t0: float, t1: float) -> list[Frame]:
        return [f for f in self._frames if t0 <= f.ts <= t1]


class InferenceWorker(QueueWorker[Frame]):
    """Frames in, window results out; at the end of the stream, the last window and clips."""

    def __init__(
        self,
        frames: FrameQueue,
        results: ResultQueue,
        holder: ModelHolder,
        stats: AgentStats,
        stop_event: threading.Event,
        hop_s: float,
        context_s: float = 0.0,
        clips: ClipSink | None = None,
    ) -> None:
        super().__init__("inference", frames, stats, stop_event)
        self.results = results
        self.holder = holder
        self.hop_s = hop_s
        self.context_s = context_s
        self.ring = FrameRing(keep_s=context_s)
        self.clips = clips
        self._next_end: float | None = None
        self._windows = 0

    def handle(self, frame: Frame) -> None:
        # Keep one window plus the clip context (a new model may need a longer window).
        spec = self.holder.current.spec
        self.ring.keep_s = max(self.ring.keep_s, spec.clip_seconds + self.context_s)
        self.ring.append(frame)
        self.stats.count("frames_out")
        if self.clips is not None:
            self.clips.flush(self.ring, final=False)
        if self._next_end is None:
            # The first window waits for a full clip's worth of video (as in training).
            self._next_end = frame.ts + spec.clip_seconds
        if frame.ts + 1e-9 < self._next_end:
            return
        # Fallen behind (a slow device on a live source): skip hops, never queue stale ones.
        self._next_end = max(self._next_end + self.hop_s, frame.ts + self.hop_s / 2)
        self._publish(self.run_window(frame.ts))

    def describe(self, item: Frame) -> str:
        return f"window at {item.ts:.2f} s"

    def end_of_stream(self) -> None:
        """A stream shorter than one window still gets one (padded) window."""
        latest = self.ring.latest_ts
        if self._windows == 0 and latest is not None:
            self._publish(self.run_window(latest))
        if self.clips is not None:
            self.clips.flush(self.ring, final=True)

    def on_exit(self) -> None:
        """Stopped or ended, the stages downstream hear that no more is coming (the
        decision stage, the last to ask for a clip, closes the clips)."""
        put_bounded(self.results, None, self.stop_event)
        log.info("inference ended (%d windows)", self.stats.get("windows"))

    def _publish(self, result: WindowResult) -> None:
        self._windows += 1
        put_bounded(self.results, result, self.stop_event)
        if self.clips is not None:
            self.clips.consider(result)

    def run_window(self, end_s: float) -> WindowResult:
        backend = self.holder.current
        spec = backend.spec
        indices = window_indices(self.ring.timestamps(), end_s, spec)
        window = window_to_input([f.small for f in self.ring.sample(indices)], spec)
        started = time.monotonic()
        probs = backend.infer(window)
        latency = time.monotonic() - started
        self.stats.inference(latency)
        return WindowResult(
            t_end=end_s,
            t_start=end_s - spec.clip_seconds,
            probs=probs,
            meta=backend.meta,
            latency_s=latency,
        )


class ClipSink(Protocol):
    """What the inference stage needs from clip capture (see `edge.clips.ClipCollector`)."""

    def consider(self, result: WindowResult) -> None: ...

    def flush(self, ring: FrameRing, final: bool) -> None: ...
