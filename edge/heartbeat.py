"""The heartbeat: the device's health every N seconds, retained on its status topic.

It goes over MQTT while connected (retained, so a dashboard that subscribes later sees
it), else over HTTP when a cloud URL is configured. A heartbeat is a snapshot, not a
record: one that cannot be sent is counted and replaced by the next, never queued.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

import psutil

from edge.emit import DeviceIdentity
from edge.outbox import OutboxStore
from edge.stage import StageThread
from edge.stats import AgentStats, StatsSnapshot
from edge.transport.base import Transport, TransportError
from shared.messages import DeviceState, Heartbeat, Thresholds, utc_now

log = logging.getLogger(__name__)


def build_heartbeat(
    identity: DeviceIdentity,
    snap: StatsSnapshot,
    *,
    cpu_percent: float,
    memory_mb: float,
    outbox_depth: int,
    dropped: int,
    model_version: str | None,
    thresholds: Thresholds | None = None,
    scores_since: datetime | None = None,
) -> Heartbeat:
    return Heartbeat(
        device_id=identity.device_id,
        site=identity.site,
        status=DeviceState.ONLINE,
        sent_at=utc_now(),
        uptime_s=max(snap.uptime_s, 0.0),
        fps_in=max(snap.fps_in, 0.0),
        fps_out=max(snap.fps_out, 0.0),
        latency_ms_p50=snap.latency_ms_p50,
        latency_ms_p95=snap.latency_ms_p95,
        cpu_percent=max(cpu_percent, 0.0),
        memory_mb=max(memory_mb, 0.0),
        outbox_depth=outbox_depth,
        dropped=dropped,
        camera_ok=snap.camera_ok,
        model_version=model_version,
        last_error=snap.last_error,
        thresholds=thresholds,
        fall_scores=list(snap.fall_scores) if scores_since and snap.fall_scores else None,
        fall_scores_since=scores_since if snap.fall_scores else None,
    )


class HealthProbe:
    """Builds the current Heartbeat from the stats, the process and the outbox."""

    def __init__(
        self,
        identity: DeviceIdentity,
        stats: AgentStats,
        outbox: OutboxStore | None,
        model_version: Callable[[], str | None],
        thresholds: Callable[[], Thresholds] | None = None,
    ) -> None:
        self.thresholds = thresholds
        self.identity = identity
        self.stats = stats
        self.outbox = outbox
        self.model_version = model_version
        self._process = psutil.Process()
        self._process.cpu_percent(None)  # the first reading is meaningless; prime it

    def heartbeat(self, advance: bool = True) -> Heartbeat:
        """The current health; `advance=False` leaves the rate window to the periodic beat."""
        return build_heartbeat(
            self.identity,
            self.stats.snapshot(advance),
            cpu_percent=float(self._process.cpu_percent(None)),
            memory_mb=self._process.memory_info().rss / 1e6,
            outbox_depth=self.outbox.depth() if self.outbox is not None else 0,
            dropped=self.outbox.dropped() if self.outbox is not None else 0,
            model_version=self.model_version(),
            thresholds=self.thresholds() if self.thresholds is not None else None,
            scores_since=self.stats.scores_since,
        )


class HeartbeatWorker(StageThread):
    """Beats every `interval_s`; a failed beat is counted in `failed` (the next replaces it)."""

    def __init__(
        self,
        probe: HealthProbe,
        route: Callable[[], Transport | None],
        interval_s: float,
        stop_event: threading.Event,
        on_beat: Callable[[Heartbeat], None] | None = None,
    ) -> None:
        super().__init__("heartbeat", probe.stats, stop_event)
        self.probe = probe
        self.route = route
        self.interval_s = interval_s
        self.on_beat = on_beat
        self.sent = 0
        self.failed = 0

    def run(self) -> None:
        while not self.stop_event.wait(self.interval_s):
            try:
                self.beat()
            except Exception:
                self.failed += 1
                log.exception("heartbeat failed")

    def beat(self) -> Heartbeat:
        heartbeat = self.probe.heartbeat()
        if self.on_beat is not None:
            self.on_beat(heartbeat)
        transport = self.route()
        if transport is None:
            return heartbeat
        topic = self.probe.identity.topic("status")
        try:
            transport.publish(topic, heartbeat.model_dump_json().encode(), retain=True).wait(5.0)
            self.sent += 1
        except TransportError as exc:
            self.failed += 1
            log.info("heartbeat not sent: %s", exc)
        return heartbeat
