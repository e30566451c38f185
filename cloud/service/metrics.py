"""Counters, gauges and histograms rendered in the Prometheus text format (version 0.0.4).

A few dozen lines instead of a dependency: see
https://prometheus.io/docs/instrumenting/exposition_formats/ for the format.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence

LabelValues = tuple[str, ...]
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
JOB_BUCKETS = (10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400)


class _Metric:
    kind = ""

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        self.name, self.help, self.labels = name, help_text, tuple(labels)
        self._lock = threading.Lock()

    def _key(self, values: dict[str, str]) -> LabelValues:
        if set(values) != set(self.labels):
            raise ValueError(f"{self.name} takes labels {self.labels}, got {sorted(values)}")
        return tuple(str(values[name]) for name in self.labels)

    def _series(self, key: LabelValues, suffix: str = "", extra: str = "") -> str:
        pairs = [f'{n}="{_escape(v)}"' for n, v in zip(self.labels, key, strict=True)]
        if extra:
            pairs.append(extra)
        return f"{self.name}{suffix}" + ("{" + ",".join(pairs) + "}" if pairs else "")

    def render(self) -> list[str]:
        raise NotImplementedError

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]


class Counter(_Metric):
    kind = "counter"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labels)
        self._values: dict[LabelValues, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def render(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return self.header() + [f"{self._series(k)} {_num(v)}" for k, v in items]


class Gauge(Counter):
    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = value


class Histogram(_Metric):
    kind = "histogram"

    def __init__(
        self,
        name: str,
        help_text: str,
        labels: Sequence[str] = (),
        buckets: Iterable[float] = DEFAULT_BUCKETS,
    ) -> None:
        super().__init__(name, help_text, labels)
        self.buckets = tuple(sorted(buckets))
        self._counts: dict[LabelValues, list[int]] = {}
        self._sums: dict[LabelValues, float] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            counts = self._counts.setdefault(key, [0] * (len(self.buckets) + 1))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    counts[i] += 1
            counts[-1] += 1
            self._sums[key] = self._sums.get(key, 0.0) + value

    def count(self, **labels: str) -> int:
        with self._lock:
            return self._counts.get(self._key(labels), [0])[-1]

    def render(self) -> list[str]:
        lines = self.header()
        with self._lock:
            items = sorted((k, list(c), self._sums[k]) for k, c in self._counts.items())
        for key, counts, total in items:
            for bound, n in zip((*self.buckets, math.inf), counts, strict=True):
                le = f'le="{_num(bound)}"'
                lines.append(f"{self._series(key, '_bucket', le)} {n}")
            lines.append(f"{self._series(key, '_sum')} {_num(total)}")
            lines.append(f"{self._series(key, '_count')} {counts[-1]}")
        return lines


def _num(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class ServiceMetrics:
    """Every metric one service process exports (one instance per process)."""

    def __init__(self) -> None:
        self.messages = Counter(
            "vigil_ingest_messages_total", "messages received", ("source", "kind")
        )
        self.events = Counter("vigil_ingest_events_total", "events stored", ("source",))
        self.duplicates = Counter(
            "vigil_ingest_duplicates_total", "events dropped as duplicates", ("source",)
        )
        self.rejects = Counter(
            "vigil_ingest_rejected_total", "payloads refused", ("source", "reason")
        )
        self.ingest_errors = Counter("vigil_ingest_errors_total", "ingest failures", ("stage",))
        self.ingest_lag = Histogram(
            "vigil_ingest_lag_seconds", "from receipt to commit", ("source",)
        )
        self.event_age = Histogram(
            "vigil_event_age_seconds",
            "from an event's own time to commit",
            ("source",),
            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600),
        )
        self.queue_depth = Gauge("vigil_ingest_queue_depth", "MQTT messages waiting")
        self.live_clients = Gauge("vigil_live_subscribers", "open SSE streams")
        self.live_dropped = Counter("vigil_live_dropped_total", "SSE messages dropped (slow)")
        self.alerts_opened = Counter("vigil_alerts_opened_total", "alerts opened")
        self.escalations = Counter("vigil_alert_escalations_total", "escalations sent", ("result",))
        self.jobs = Counter("vigil_training_jobs_total", "training jobs finished", ("outcome",))
        self.job_duration = Histogram(
            "vigil_training_job_duration_seconds",
            "training job wall time",
            ("outcome",),
            buckets=JOB_BUCKETS,
        )
        self.worker_errors = Counter("vigil_worker_errors_total", "worker loop failures")
        self.rate_limited = Counter("vigil_rate_limited_total", "requests answered 429", ("limit",))

    def all(self) -> list[_Metric]:
        return [m for m in vars(self).values() if isinstance(m, _Metric)]

    def render(self) -> str:
        return "\n".join(line for metric in self.all() for line in metric.render()) + "\n"
