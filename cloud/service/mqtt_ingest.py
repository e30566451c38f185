"""The MQTT side of ingest: a subscriber that hands messages to one writer thread.

paho's network thread only queues what arrives; the writer drains whatever has queued
up (natural batching: the busier the broker, the larger the batch), stores it through
the shared `Ingestor`, and only then acknowledges each QoS 1 message (paho's manual
ack), so a crash before the commit means the broker delivers it again, and the
`event_id` unique constraint drops the copy.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from sqlalchemy.exc import InterfaceError, OperationalError

from cloud.service.ingest import Ingestor, Rejected, parse_device_message
from cloud.service.metrics import ServiceMetrics
from cloud.service.mqtt import BrokerAddress, make_client
from shared.messages import ActionEvent, CommandAck, Heartbeat
from shared.topics import ingest_subscriptions

log = logging.getLogger(__name__)

QUEUE_LIMIT = 10_000
DB_RETRY_S = (0.5, 1.0, 2.0, 5.0)
# paho doubles its reconnect delay up to make_client's 30 s: after a 15 s broker outage the
# ingest came back 16 s after the broker, while devices were publishing to it again and
# their events (falls too) waited there (tests/faults, issue #9). One client per process
# to a nearby broker: trying every few seconds costs nothing.
RECONNECT_MAX_S = 5
REJECT_LOG_S = 60.0


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    mid: int
    qos: int
    at: float  # time.monotonic() on arrival


class MqttIngest:
    """Subscribe to every device's events, status and ack topics and store what comes."""

    def __init__(
        self,
        address: BrokerAddress,
        root: str,
        share_group: str | None,
        client_id: str | None,
        ingestor: Ingestor,
        metrics: ServiceMetrics,
        batch_size: int = 500,
    ) -> None:
        self._address, self._ingestor, self._metrics = address, ingestor, metrics
        self._filters = ingest_subscriptions(root, share_group)
        self._batch_size = batch_size
        self._queue: queue.Queue[Received] = queue.Queue(QUEUE_LIMIT)
        self._stop = threading.Event()
        self._stopping = False
        self._last_logged: dict[str, float] = {}
        self._connected = threading.Event()
        self._client = make_client(address, "vigil-ingest", client_id, manual_ack=True)
        self._client.reconnect_delay_set(min_delay=1, max_delay=RECONNECT_MAX_S)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._writer = threading.Thread(target=self._run, name="vigil-ingest-writer", daemon=True)
        self.last_batch_at = time.monotonic()  # a watchdog can read how long since work

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        self._writer.start()
        self._client.connect_async(self._address.host, self._address.port, keepalive=30)
        self._client.loop_start()

    def wait_subscribed(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def stop(self) -> None:
        self._stopping = True
        self._client.disconnect()
        self._client.loop_stop()
        self._stop.set()
        self._writer.join(timeout=10)

    # -- paho's thread ---------------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("MQTT ingest: broker refused the connection: %s", reason_code)
            return
        result, _mid = client.subscribe([(f, 1) for f in self._filters])
        if result != mqtt.MQTT_ERR_SUCCESS:
            log.error("MQTT ingest: subscribe failed: %s", mqtt.error_string(result))
            return
        log.info("MQTT ingest subscribed to %s", self._filters)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        failed = [code for code in reason_codes if code.is_failure]
        if failed:
            log.error("MQTT ingest: the broker refused subscriptions: %s", failed)
            return
        self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connected.clear()
        if not self._stopping:
            log.warning("MQTT ingest disconnected (%s); paho reconnects", reason_code)

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:
        # Blocks when the writer falls 10 000 messages behind: back-pressure to the broker,
        # which keeps the messages, rather than unbounded memory here.
        self._queue.put(
            Received(
                message.topic, bytes(message.payload), message.mid, message.qos, time.monotonic()
            )
        )

    # -- the writer thread -----------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self._take_batch()
            if batch and self._store_until_done(batch):
                self._acknowledge(batch)
            self.last_batch_at = time.monotonic()

    def _take_batch(self) -> list[Received]:
        try:
            batch = [self._queue.get(timeout=0.5)]
        except queue.Empty:
            return []
        while len(batch) < self._batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        self._metrics.queue_depth.set(self._queue.qsize())
        return batch

    def _store_until_done(self, batch: list[Received]) -> bool:
        """Store a batch, waiting out a database outage (the broker keeps unacked messages).

        False when the service stops before the database came back: those messages stay
        unacknowledged. A batch failing for any other reason is stored again one message
        at a time, so one message the database refuses costs only itself, not the (up to
        `batch_size`) others with it; that message is counted, logged and acknowledged, so
        that it cannot stall ingest forever.
        """
        attempt = 0
        while True:
            try:
                self._store(batch)
                return True
            except (OperationalError, InterfaceError) as exc:
                delay = DB_RETRY_S[min(attempt, len(DB_RETRY_S) - 1)]
                attempt += 1
                self._metrics.ingest_errors.inc(stage="database")
                log.warning("MQTT ingest: database unavailable (%s); retry in %s s", exc, delay)
                if self._stop.wait(delay):
                    return False
            except Exception:  # the loop must survive; counted and logged
                if len(batch) == 1:
                    self._metrics.ingest_errors.inc(stage="message")
                    log.exception("MQTT ingest: a message on %s was dropped", batch[0].topic)
                    return True
                self._metrics.ingest_errors.inc(stage="batch")
                log.exception("MQTT ingest: a batch of %d failed; one by one now", len(batch))
                return all(self._store_until_done([item]) for item in batch)

    def _store(self, batch: list[Received]) -> None:
        events: list[ActionEvent] = []
        others: list[Heartbeat | CommandAck] = []
        for item in batch:
            try:
                message = parse_device_message(item.topic, item.payload)
            except Rejected as exc:
                self._reject(exc, item.topic)
                continue
            if isinstance(message, ActionEvent):
                events.append(message)
            else:
                others.append(message)
        if events:
            self._ingestor.ingest_events(events, "mqtt")
        for message in others:
            self._store_other(message)
        done = time.monotonic()
        for item in batch:
            self._metrics.ingest_lag.observe(done - item.at, source="mqtt")

    def _store_other(self, message: Heartbeat | CommandAck) -> None:
        try:
            if isinstance(message, Heartbeat):
                self._ingestor.record_heartbeat(message, "mqtt")
            else:
                self._ingestor.record_ack(message, "mqtt")
        except Rejected as exc:
            self._reject(exc, f"{message.site}/{message.device_id}")

    def _reject(self, exc: Rejected, where: str) -> None:
        self._metrics.rejects.inc(source="mqtt", reason=exc.reason)
        # One line per reason per minute: a misbehaving device must not flood the log.
        now = time.monotonic()
        if now - self._last_logged.get(exc.reason, -REJECT_LOG_S) >= REJECT_LOG_S:
            self._last_logged[exc.reason] = now
            log.info(
                "MQTT ingest: refused a message on %s: %s (more are only counted, "
                "for a minute: vigil_ingest_rejected_total)",
                where,
                exc,
            )

    def _acknowledge(self, batch: list[Received]) -> None:
        for item in batch:
            if item.qos > 0:
                self._client.ack(item.mid, item.qos)
