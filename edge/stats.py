"""Counters the pipeline stages bump and the heartbeat reads (thread-safe)."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from shared.messages import SCORE_BINS, as_detail, utc_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StatsSnapshot:
    uptime_s: float
    fps_in: float
    fps_out: float
    latency_ms_p50: float
    latency_ms_p95: float
    frames_in: int
    frames_out: int
    frames_dropped: int
    windows: int
    errors: int
    camera_ok: bool
    last_error: str | None
    fall_scores: tuple[int, ...] = ()  # windows per fall-score bin since the agent started


def percentile_ms(latencies_s: list[float], q: float) -> float:
    """The q-th percentile of latencies given in seconds, in milliseconds (0 when none)."""
    if not latencies_s:
        return 0.0
    return float(np.percentile(np.asarray(latencies_s) * 1000.0, q))


class AgentStats:
    def __init__(self, latency_window: int = 200) -> None:
        self._lock = threading.Lock()
        self.started = time.monotonic()
        self._counts = {
            "frames_in": 0,
            "frames_out": 0,
            "frames_dropped": 0,
            "windows": 0,
            "errors": 0,
        }
        self._latencies: deque[float] = deque(maxlen=latency_window)
        self._fall_scores = [0] * SCORE_BINS
        self.scores_since = utc_now()
        self._last_rate = (self.started, 0, 0)
        self.camera_ok = True
        self.last_error: str | None = None

    def count(self, name: str, by: int = 1) -> None:
        with self._lock:
            self._counts[name] += by

    def get(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def inference(self, seconds: float) -> None:
        with self._lock:
            self._counts["windows"] += 1
            self._latencies.append(seconds)

    def error(self, message: str) -> None:
        """Record a failure that the agent survives; the heartbeat reports the last one."""
        with self._lock:
            self._counts["errors"] += 1
            self.last_error = as_detail(message)

    def fall_score(self, score: float) -> None:
        """Count one window's fall score (fall and lying together) in its 0.05 bin."""
        index = min(max(int(score * SCORE_BINS), 0), SCORE_BINS - 1)
        with self._lock:
            self._fall_scores[index] += 1

    def set_camera(self, ok: bool) -> None:
        self.camera_ok = ok

    def snapshot(self, advance: bool = True) -> StatsSnapshot:
        """Read everything; rates are per second since the previous advancing snapshot."""
        now = time.monotonic()
        with self._lock:
            then, in_before, out_before = self._last_rate
            counts, latencies = dict(self._counts), list(self._latencies)
            scores = tuple(self._fall_scores)
            if advance:
                self._last_rate = (now, counts["frames_in"], counts["frames_out"])
        elapsed = max(now - then, 1e-6)
        return StatsSnapshot(
            uptime_s=now - self.started,
            fps_in=(counts["frames_in"] - in_before) / elapsed,
            fps_out=(counts["frames_out"] - out_before) / elapsed,
            latency_ms_p50=percentile_ms(latencies, 50),
            latency_ms_p95=percentile_ms(latencies, 95),
            frames_in=counts["frames_in"],
            frames_out=counts["frames_out"],
            frames_dropped=counts["frames_dropped"],
            windows=counts["windows"],
            errors=counts["errors"],
            camera_ok=self.camera_ok,
            last_error=self.last_error,
            fall_scores=scores,
        )
