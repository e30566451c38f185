"""The edge agent: builds the pipeline from the settings, runs it, shuts it down in order.

capture -> frames queue -> inference (+ clip cutting) -> results queue -> decisions
-> outbox -> sender (MQTT / HTTP); beside them: clip writer, heartbeat, control.
All threads share one `stop_event`. A finite source (a file, or `finish()` on a signal
or `--max-seconds`) ends gracefully: each stage passes an end marker downstream, the
open events are ended, the outbox is flushed for a bounded time, then everything stops.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.backend import ModelHolder, ModelLoadError, OnnxBackend
from edge.capture import CaptureWorker, FrameQueue, check_source
from edge.clips import ClipCollector, ClipQueue, ClipWriter
from edge.config import EdgeSettings
from edge.control import ControlWorker
from edge.decisions import DecisionWorker
from edge.emit import DeviceIdentity, EventSink, WallClock
from edge.heartbeat import HealthProbe, HeartbeatWorker
from edge.inference import InferenceWorker, ResultQueue
from edge.outbox import OutboxStore, sweep_orphan_clips
from edge.sender import OutboxSender
from edge.stats import AgentStats
from edge.thresholds import LiveThresholds
from edge.transport.base import CredentialsRefused, Transport, TransportError
from edge.transport.http import CloudClient, HttpTransport
from edge.transport.mqtt import MqttTransport
from edge.uncertainty import ClipRateLimiter
from edge.updater import (
    ModelCache,
    ModelRejected,
    ModelUpdater,
    load_public_key,
    verify_artifact,
)
from shared.messages import offline_heartbeat, utc_now
from shared.topics import model_topic

log = logging.getLogger(__name__)


class AgentError(RuntimeError):
    """The agent cannot start (no model, bad key, ...); the message says why."""


@dataclass(frozen=True)
class RunSummary:
    windows: int
    events: int
    outbox_depth: int
    flushed: bool
    refused: str | None = None  # the cloud refused the device token: why


class TokenRefused(AgentError):
    """The cloud does not take this device's token (revoked, or another service's)."""


def refusal_text(detail: str) -> str:
    return (
        f"the cloud refused this device's token ({detail}); its events wait in the outbox. "
        "Check VIGIL_DEVICE_TOKEN against `vigil devices list` (a revoked device needs a new "
        "token from `vigil devices add`)"
    )


class Agent:
    def __init__(
        self,
        settings: EdgeSettings,
        source: str,
        model_path: Path | None = None,
        printer: TextIO | None = None,
    ) -> None:
        self.settings = settings
        self.source = source
        self.stop_event = threading.Event()
        self._closed = False
        self.stats = AgentStats()
        self.identity = DeviceIdentity(
            settings.device_id, settings.site, settings.camera, settings.mqtt.topic_root
        )
        self.clock = WallClock(settings.capture.start_time or utc_now())
        self.thresholds = LiveThresholds(settings.events.thresholds)
        check_source(source)  # a file that cannot be decoded fails here, naming it
        self.public_key = _public_key(settings)
        self.cloud = self._cloud_client()
        self.cache = ModelCache(settings.data_dir / "models")
        self.holder = ModelHolder(self._initial_model(model_path))
        self.outbox = self._open_outbox()
        self.mqtt = self._mqtt_transport()
        self.http = HttpTransport(self.cloud, settings.http.model_poll_s) if self.cloud else None
        self._build_pipeline(printer)
        self._build_services()

    # -- construction ----------------------------------------------------------------

    def _cloud_client(self) -> CloudClient | None:
        if self.settings.cloud_url is None:
            return None
        token = self.settings.device_token
        return CloudClient(
            self.settings.cloud_url,
            token.get_secret_value() if token else None,
            self.settings.http,
            self.stop_event,
        )

    def _initial_model(self, model_path: Path | None) -> OnnxBackend:
        """The operator's local file (trusted as placed), else the cloud's current model."""
        try:
            if model_path is not None:
                return OnnxBackend(Path(model_path), threads=self.settings.inference.threads)
            return self._model_from_cloud()
        except CredentialsRefused as exc:
            raise TokenRefused(refusal_text(str(exc))) from exc
        except (ModelLoadError, ModelRejected, TransportError) as exc:
            raise AgentError(f"cannot load a model: {exc}") from exc

    def _model_from_cloud(self) -> OnnxBackend:
        """`--cloud` mode: fetch the site's production model, verify it like any update."""
        if self.cloud is None:
            raise AgentError("no model: give --model FILE.onnx or --cloud URL")
        ann = self.cloud.current_model(self.settings.site)
        data = self.cloud.fetch(ann.url)
        verify_artifact(data, ann, self.public_key)
        backend = OnnxBackend(
            data, threads=self.settings.inference.threads, source=f"model {ann.version}"
        )
        self.cache.save(ann, data)
        return backend

    def _open_outbox(self) -> OutboxStore | None:
        """Only when something can deliver it: with neither MQTT nor cloud, just print."""
        if self.settings.mqtt.url is None and self.cloud is None:
            return None
        outbox = OutboxStore(
            self.settings.data_dir / "outbox.sqlite", self.settings.outbox.max_items
        )
        swept = sweep_orphan_clips(outbox, self.clip_dir)
        if swept:
            log.info("removed %d orphan clip files", swept)
        log.info("outbox %s: %d items waiting", outbox.path, outbox.depth())
        return outbox

    @property
    def clip_dir(self) -> Path:
        return self.settings.data_dir / "clips"

    def _mqtt_transport(self) -> MqttTransport | None:
        address = self.settings.broker_address()
        if address is None:
            return None
        return MqttTransport(
            self.settings.mqtt,
            address,
            client_id=f"vigil-edge-{self.identity.site}-{self.identity.device_id}",
            status_topic=self.identity.topic("status"),
            online_payload=lambda: self.probe.heartbeat(advance=False).model_dump_json().encode(),
            offline_payload=lambda: (
                offline_heartbeat(self.identity.site, self.identity.device_id)
                .model_dump_json()
                .encode()
            ),
            on_refused=self.stats.error,
        )

    def _build_pipeline(self, printer: TextIO | None) -> None:
        s = self.settings
        frames: FrameQueue = queue.Queue(maxsize=s.capture.queue_size)
        results: ResultQueue = queue.Queue(maxsize=64)
        res = s.clips.resolution
        self.capture = CaptureWorker(
            self.source,
            frames,
            self.stop_event,
            self.stats,
            input_spec=lambda: self.holder.current.spec,
            clip_size=(res.width, res.height) if res and self._clips_on() else None,
            config=s.capture,
        )
        self.inference = InferenceWorker(
            frames,
            results,
            self.holder,
            self.stats,
            self.stop_event,
            hop_s=s.inference.hop_s,
            # A confirmed fall's clip reaches back over the confirmation to the motion.
            context_s=s.clips.pre_s + s.clips.post_s + s.events.confirm_s + 2 * s.inference.hop_s,
            clips=(collector := self._clip_collector()),
        )
        sink = EventSink(self.identity, self.clock, self.outbox, printer)
        self.decisions = DecisionWorker(
            results, sink, s.events, self.thresholds, self.stats, self.stop_event, collector
        )

    def _clips_on(self) -> bool:
        return self.settings.clips.enabled and self.http is not None and self.outbox is not None

    def _clip_collector(self) -> ClipCollector | None:
        self.clip_writer: ClipWriter | None = None
        if not self._clips_on():
            log.info("clip upload off (needs clips.enabled and a cloud URL)")
            return None
        assert self.outbox is not None
        jobs: ClipQueue = queue.Queue(maxsize=8)
        self.clip_writer = ClipWriter(
            jobs, self.outbox, self.clip_dir, self.identity, self.clock, self.stats, self.stop_event
        )
        c = self.settings.clips
        limiter = ClipRateLimiter(c.max_per_hour, c.dedup_s, c.min_gap_s)
        return ClipCollector(limiter, self.thresholds, c.pre_s, c.post_s, jobs, self.stop_event)

    def _build_services(self) -> None:
        s = self.settings
        self.probe = HealthProbe(
            self.identity,
            self.stats,
            self.outbox,
            lambda: self.holder.current.version,
            self.thresholds.get,
        )
        self.sender = (
            None
            if self.outbox is None
            else OutboxSender(
                self.outbox,
                self.mqtt,
                self.http,
                self.stats,
                self.stop_event,
                fallback_after_s=s.http.fallback_after_s,
                ack_timeout_s=s.mqtt.ack_timeout_s,
                topic_root=s.mqtt.topic_root,
            )
        )
        self.heartbeat = HeartbeatWorker(
            self.probe, self._live_route, s.heartbeat.interval_s, self.stop_event
        )
        self.updater = ModelUpdater(
            self.holder, self.cache, self.public_key, self.cloud, self.stats, s.inference.threads
        )
        self.control = ControlWorker(
            self.identity,
            self.updater,
            self.thresholds,
            lambda: self.mqtt,
            self.stop_event,
            model_topic(self.identity.site, s.mqtt.topic_root),
        )

    def _live_route(self) -> Transport | None:
        """Heartbeats: MQTT while connected, else HTTP at once (a snapshot cannot wait)."""
        if self.mqtt is not None and self.mqtt.connected():
            return self.mqtt
        return self.http

    # -- running ---------------------------------------------------------------------

    def start(self) -> None:
        self._subscribe()
        if self.mqtt is not None:
            self.mqtt.start()
        workers: list[threading.Thread | None] = [
            self.control,
            self.sender,
            self.heartbeat,
            self.clip_writer,
            self.decisions,
            self.inference,
            self.capture,
        ]
        for worker in workers:
            if worker is not None:
                worker.start()
        log.info(
            "agent %s/%s running model %s on %s",
            self.identity.site,
            self.identity.device_id,
            self.holder.current.version,
            self.source,
        )

    def _subscribe(self) -> None:
        topic = model_topic(self.identity.site, self.settings.mqtt.topic_root)
        if self.mqtt is not None:
            self.mqtt.subscribe(topic, self.control.receive)
            self.mqtt.subscribe(self.identity.topic("cmd"), self.control.receive)
        elif self.http is not None and self.settings.http.model_poll_s is not None:
            self.http.subscribe(topic, self.control.receive)

    def finish(self) -> None:
        """Graceful stop: end the stream; the pipeline drains and `run` returns."""
        self.capture.finish()

    def run(self, max_seconds: float | None = None) -> RunSummary:
        """Start, wait for the stream to end (or `max_seconds`), flush, stop."""
        self.start()
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        try:
            while not self.stop_event.is_set() and self.decisions.is_alive():
                if deadline is not None and time.monotonic() >= deadline:
                    self.finish()
                if self.cloud is not None and self.cloud.refused:
                    return self._refused(self.cloud.refused)
                self.decisions.join(timeout=0.2)
            return self._drain()
        finally:
            self.close()

    def _refused(self, detail: str) -> RunSummary:
        """Stop now: nothing more will be delivered; what is queued stays in the outbox."""
        log.error("%s", refusal_text(detail))
        return RunSummary(
            windows=self.stats.get("windows"),
            events=self.decisions.events_emitted,
            outbox_depth=self.outbox.depth() if self.outbox is not None else 0,
            flushed=False,
            refused=detail,
        )

    def _drain(self) -> RunSummary:
        if self.clip_writer is not None:
            self.clip_writer.join(timeout=10)
        flushed = True
        if self.sender is not None:
            flushed = self.sender.flush(self.settings.outbox.flush_timeout_s)
            if not flushed:
                log.warning(
                    "outbox not empty at exit: %d items wait for the next run",
                    self.outbox.depth() if self.outbox else 0,
                )
        return RunSummary(
            windows=self.stats.get("windows"),
            events=self.decisions.events_emitted,
            outbox_depth=self.outbox.depth() if self.outbox is not None else 0,
            flushed=flushed,
        )

    def close(self) -> None:
        """Stop every thread, then say offline and close connections (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.stop_event.set()
        self.control.wake()
        if self.outbox is not None:
            self.outbox.wake()
        for worker in (
            self.capture,
            self.inference,
            self.decisions,
            self.clip_writer,
            self.sender,
            self.heartbeat,
            self.control,
        ):
            if worker is not None and worker.is_alive():
                worker.join(timeout=5)
        if self.mqtt is not None:
            self.mqtt.stop()
        if self.http is not None:
            if self.mqtt is None:
                self._say_offline_over_http(self.http)
            self.http.stop()
        if self.outbox is not None:
            self.outbox.close()

    def _say_offline_over_http(self, http: HttpTransport) -> None:
        """Without a broker there is no last will: tell the cloud ourselves, once."""
        offline = offline_heartbeat(self.identity.site, self.identity.device_id)
        try:
            http.publish(self.identity.topic("status"), offline.model_dump_json().encode())
        except TransportError as exc:  # shutting down: report, never raise
            log.warning("could not say offline over HTTP: %s", exc)


def _public_key(settings: EdgeSettings) -> Ed25519PublicKey | None:
    if settings.model.public_key is None:
        return None
    try:
        return load_public_key(settings.model.public_key)
    except ValueError as exc:
        raise AgentError(f"model.public_key: {exc}") from exc
