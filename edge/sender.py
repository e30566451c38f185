"""The sender: drain the outbox to the cloud, deleting an item only once it is delivered.

Events go over MQTT while the broker is connected; once it has been unreachable for
`fallback_after_s` they go over HTTP instead (when a cloud URL is configured), a batch
of up to `batch` events per request. Clips always go by HTTP multipart. A refused item
(HTTP 4xx other than auth) is removed and counted, so one bad row cannot block the queue
forever; anything else is retried with exponential backoff.

A batch the cloud refuses is split in halves and each half posted again, down to the
refused event alone: the others are delivered, only that one is dropped. (The cloud
refuses a batch whole; halving finds the event whatever the refusal's body says. With one
bad event in n it costs about 2 log2(n) more requests, and the cloud drops repeats by
`event_id`.)
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from edge.outbox import ItemKind, OutboxItem, OutboxStore
from edge.stage import StageThread
from edge.stats import AgentStats
from edge.transport.base import Delivery, RejectedError, Transport, TransportError
from edge.transport.http import MAX_EVENTS_PER_POST, CloudClient, HttpTransport
from edge.transport.mqtt import MqttTransport
from shared.topics import DEFAULT_ROOT, TopicError

log = logging.getLogger(__name__)

# (delivered, refused for good): ids of outbox rows, each to be removed.
Outcome = tuple[list[int], list[int]]


class OutboxSender(StageThread):
    def __init__(
        self,
        outbox: OutboxStore,
        mqtt: MqttTransport | None,
        http: HttpTransport | None,
        stats: AgentStats,
        stop_event: threading.Event,
        fallback_after_s: float = 5.0,
        ack_timeout_s: float = 10.0,
        batch: int = 50,
        topic_root: str = DEFAULT_ROOT,
    ) -> None:
        super().__init__("sender", stats, stop_event)
        self.outbox = outbox
        self.mqtt = mqtt
        self.http = http
        self.fallback_after_s = fallback_after_s
        self.ack_timeout_s = ack_timeout_s
        self.batch = batch
        self.topic_root = topic_root
        self.delivered = {"mqtt": 0, "http": 0, "clips": 0, "rejected": 0}
        self.http_posts = 0  # event requests made (each retry of one counted once)
        self._backoff = _Backoff(0.25, 5.0)

    def run(self) -> None:
        while not self.stop_event.is_set():
            sent = self.guarded(lambda: self.send_events() + self.send_clips(), "sending") or 0
            if sent:
                self._backoff.reset()
            elif self.deliverable() == 0:
                self.outbox.wait_for_items(1.0)
            else:
                self.stop_event.wait(self._backoff.next())

    def route(self) -> Transport | None:
        """MQTT while connected; HTTP once the broker has been gone long enough."""
        if self.mqtt is not None and self.mqtt.connected():
            return self.mqtt
        if self.http is None:
            return None
        if self.mqtt is None or self.mqtt.disconnected_for() >= self.fallback_after_s:
            return self.http
        return None

    def send_events(self) -> int:
        items = self.outbox.peek(ItemKind.EVENT, self.batch)
        transport = self.route() if items else None
        if transport is None:
            return 0
        if self.http is not None and transport is self.http:
            delivered, rejected = self._post(self.http.client, items)
        else:
            delivered, rejected = self._publish(transport, items)
        self.outbox.remove(delivered + rejected)
        done = set(delivered + rejected)
        self.outbox.mark_attempt([i.id for i in items if i.id is not None and i.id not in done])
        self.delivered[transport.name] += len(delivered)
        return len(delivered) + len(rejected)

    def _publish(self, transport: Transport, items: list[OutboxItem]) -> Outcome:
        """Publish a batch, then wait for each acknowledgement (pipelined, not one by one)."""
        pending: list[tuple[int, Delivery]] = []
        rejected: list[int] = []
        for item in items:
            assert item.id is not None
            try:
                topic = item.topic(self.topic_root)  # built now: the root configured now
                pending.append((item.id, transport.publish(topic, item.payload.encode())))
            except (RejectedError, TopicError) as exc:
                rejected.append(self._reject(item, exc))
            except TransportError as exc:
                log.info("%s: %s", transport.name, exc)
                break
        delivered = []
        for item_id, delivery in pending:
            try:
                delivery.wait(self.ack_timeout_s)
                delivered.append(item_id)
            except TransportError as exc:
                log.info("%s: %s", transport.name, exc)
        return delivered, rejected

    def _post(self, client: CloudClient, items: list[OutboxItem]) -> Outcome:
        """POST the events in as few requests as the cloud takes; stop at the first failure
        that retrying may fix (what is left stays queued)."""
        delivered: list[int] = []
        rejected: list[int] = []
        for start in range(0, len(items), MAX_EVENTS_PER_POST):
            try:
                self._post_isolating(
                    client, items[start : start + MAX_EVENTS_PER_POST], delivered, rejected
                )
            except TransportError as exc:
                log.info("http: %s", exc)
                break
        return delivered, rejected

    def _post_isolating(
        self,
        client: CloudClient,
        items: list[OutboxItem],
        delivered: list[int],
        rejected: list[int],
    ) -> None:
        """Post `items`; refused, post each half again, down to the refused event alone."""
        self.http_posts += 1
        try:
            client.post_events([item.payload for item in items])
        except RejectedError as exc:
            if len(items) == 1:
                rejected.append(self._reject(items[0], exc))
                return
            half = len(items) // 2
            self._post_isolating(client, items[:half], delivered, rejected)
            self._post_isolating(client, items[half:], delivered, rejected)
            return
        delivered.extend(item.id for item in items if item.id is not None)

    def _reject(self, item: OutboxItem, exc: Exception) -> int:
        assert item.id is not None
        log.error("%s %s refused for good, removed: %s", item.kind.value, item.key, exc)
        self.stats.error(f"{item.kind.value} {item.key} refused: {exc}")
        self.delivered["rejected"] += 1
        return item.id

    def send_clips(self) -> int:
        if self.http is None:
            return 0
        done = 0
        for item in self.outbox.peek(ItemKind.CLIP, 5):
            assert item.id is not None
            if not self._upload(self.http.client, item):
                break
            self.outbox.remove([item.id])
            done += 1
        return done

    def _upload(self, client: CloudClient, item: OutboxItem) -> bool:
        """Upload one clip; True when it left the queue (delivered or refused for good)."""
        path = Path(item.file_path or "")
        try:
            if not path.is_file():
                raise RejectedError(f"clip file {path} is gone")
            client.upload_clip(item.payload, path)
        except RejectedError as exc:
            self._reject(item, exc)
            return True
        except TransportError as exc:
            log.info("clip upload: %s", exc)
            self.outbox.mark_attempt([item.id] if item.id is not None else [])
            return False
        self.delivered["clips"] += 1
        return True

    def deliverable(self) -> int:
        """Items this sender can ever deliver (clips need HTTP)."""
        clips = self.outbox.depth(ItemKind.CLIP) if self.http is not None else 0
        return self.outbox.depth(ItemKind.EVENT) + clips

    def flush(self, timeout_s: float) -> bool:
        """Wait (bounded) until everything deliverable is delivered; True if it was."""
        deadline = time.monotonic() + timeout_s
        while self.deliverable() > 0 and time.monotonic() < deadline:
            if self.stop_event.wait(0.1):
                break
        return self.deliverable() == 0


class _Backoff:
    def __init__(self, first: float, longest: float) -> None:
        self.first, self.longest, self.current = first, longest, first

    def next(self) -> float:
        value, self.current = self.current, min(self.current * 2, self.longest)
        return value

    def reset(self) -> None:
        self.current = self.first
