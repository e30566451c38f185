"""Control: model announcements and Commands from the cloud, handled off the MQTT thread.

paho calls handlers on its network thread; a model download and warm-up there would
stall every PUBACK, so handlers only enqueue and this worker does the work. Each Command
is answered with a CommandAck on the device's `ack` topic, ok or not.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from pydantic import ValidationError

from edge.emit import DeviceIdentity
from edge.stage import QueueWorker
from edge.thresholds import LiveThresholds
from edge.transport.base import Transport, TransportError
from edge.updater import ModelRejected, ModelUpdater
from shared.messages import (
    Command,
    CommandAck,
    CommandKind,
    ModelAnnouncement,
    as_detail,
    utc_now,
)

log = logging.getLogger(__name__)

Inbound = tuple[str, bytes]


class ControlWorker(QueueWorker[Inbound]):
    def __init__(
        self,
        identity: DeviceIdentity,
        updater: ModelUpdater,
        thresholds: LiveThresholds,
        ack_transport: Callable[[], Transport | None],
        stop_event: threading.Event,
        model_topic: str,
    ) -> None:
        inbox: queue.Queue[Inbound | None] = queue.Queue(maxsize=32)
        super().__init__("control", inbox, updater.stats, stop_event)
        self.identity = identity
        self.updater = updater
        self.thresholds = thresholds
        self.ack_transport = ack_transport
        self.model_topic = model_topic
        self.handled = 0

    def receive(self, topic: str, payload: bytes) -> None:
        """MQTT handler: enqueue and return at once (dropped, and logged, if flooded)."""
        try:
            self.inbox.put_nowait((topic, payload))
        except queue.Full:
            log.warning("control inbox full: message on %s dropped", topic)

    def wake(self) -> None:
        """At shutdown (the stop event set): end `run` now rather than at its next timeout."""
        try:
            self.inbox.put_nowait(None)
        except queue.Full:
            pass

    def handle(self, item: Inbound) -> None:
        topic, payload = item
        try:
            if topic == self.model_topic:
                self._announcement(payload)
            else:
                self._command(payload)
        finally:
            self.handled += 1

    def describe(self, item: Inbound) -> str:
        return f"control message on {item[0]}"

    def _announcement(self, payload: bytes) -> None:
        try:
            ann = ModelAnnouncement.model_validate_json(payload)
        except ValidationError as exc:
            self.updater.stats.error(f"invalid model announcement: {exc.errors()[:1]}")
            return
        if ann.site != self.identity.site:
            log.warning("announcement for site %s ignored", ann.site)
            return
        self.updater.apply(ann)

    def _command(self, payload: bytes) -> None:
        try:
            command = Command.model_validate_json(payload)
        except ValidationError as exc:
            self.updater.stats.error(f"invalid command: {exc.errors()[:1]}")
            return
        if (command.device_id, command.site) != (self.identity.device_id, self.identity.site):
            log.warning("command for %s/%s ignored", command.site, command.device_id)
            return
        try:
            detail, ok = self.execute(command), True
        except (ModelRejected, ValueError) as exc:
            detail, ok = str(exc), False
            self.updater.stats.error(f"command {command.kind.value} failed: {exc}")
        self._ack(command, ok, detail)

    def execute(self, command: Command) -> str:
        """Carry out a command; return what was done or raise why not."""
        if command.kind is CommandKind.SET_THRESHOLDS:
            assert command.thresholds is not None  # the Command validator guarantees it
            self.thresholds.set(command.thresholds)
            return "thresholds updated"
        assert command.model_version is not None
        return self.updater.switch_to(command.model_version)

    def _ack(self, command: Command, ok: bool, detail: str) -> None:
        ack = CommandAck(
            command_id=command.command_id,
            device_id=self.identity.device_id,
            site=self.identity.site,
            ok=ok,
            detail=as_detail(detail),
            acked_at=utc_now(),
        )
        transport = self.ack_transport()
        if transport is None:
            log.warning("no transport for the ack of %s", command.command_id)
            return
        try:
            transport.publish(self.identity.topic("ack"), ack.model_dump_json().encode()).wait(5.0)
        except TransportError as exc:
            log.warning("ack of %s not sent: %s", command.command_id, exc)
