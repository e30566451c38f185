"""Turn the state machine's decisions into ActionEvents and queue them (and print them).

Event times are wall-clock UTC: the agent's start time plus the frame timestamp, so a
file's events keep its video timing and a live camera's keep the monotonic clock's
(immune to NTP jumps while running).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TextIO

from edge.events import EventDecision
from edge.outbox import ItemKind, OutboxItem, OutboxStore
from shared.labels import Severity
from shared.messages import ActionEvent
from shared.topics import DeviceTopicKind, device_topic


@dataclass(frozen=True)
class DeviceIdentity:
    device_id: str
    site: str
    camera: str = "cam0"
    topic_root: str = "vigil"

    def topic(self, kind: DeviceTopicKind) -> str:
        return device_topic(self.site, self.device_id, kind, root=self.topic_root)


@dataclass(frozen=True)
class WallClock:
    """Maps frame timestamps (seconds since the agent started) to UTC datetimes."""

    origin: datetime

    def at(self, t: float) -> datetime:
        return self.origin + timedelta(seconds=t)


def to_action_event(
    decision: EventDecision,
    identity: DeviceIdentity,
    clock: WallClock,
    model_version: str,
    seq: int,
) -> ActionEvent:
    return ActionEvent(
        event_id=uuid.uuid4(),
        device_id=identity.device_id,
        site=identity.site,
        camera=identity.camera,
        type=decision.type,
        action=decision.action,
        severity=decision.severity,
        confidence=decision.confidence,
        started_at=clock.at(decision.started_s),
        ended_at=None if decision.ended_s is None else clock.at(decision.ended_s),
        model_version=model_version,
        seq=seq,
        stage=decision.stage,
        stage_at=None if decision.stage_s is None else clock.at(decision.stage_s),
    )


class EventSink:
    """Queue each event durably (when there is somewhere to send it), then print it.

    Printing comes after the commit, so a printed event is one that survives a crash.
    """

    def __init__(
        self,
        identity: DeviceIdentity,
        clock: WallClock,
        outbox: OutboxStore | None,
        printer: TextIO | None = None,
    ) -> None:
        self.identity = identity
        self.clock = clock
        self.outbox = outbox
        self.printer = printer
        self._lock = threading.Lock()
        self._seq = 0

    def _next_seq(self) -> int:
        if self.outbox is not None:
            return self.outbox.next_seq()
        with self._lock:
            self._seq += 1
            return self._seq - 1

    def emit(self, decision: EventDecision, model_version: str) -> ActionEvent:
        event = to_action_event(
            decision, self.identity, self.clock, model_version, self._next_seq()
        )
        payload = event.model_dump_json()
        if self.outbox is not None:
            self.outbox.put(
                OutboxItem(
                    kind=ItemKind.EVENT,
                    key=str(event.event_id),
                    payload=payload,
                    site=event.site,
                    device_id=event.device_id,
                    # A possible fall is a warning, but it goes first like the alarm.
                    critical=event.severity is Severity.CRITICAL or event.stage is not None,
                )
            )
        if self.printer is not None:
            with self._lock:
                self.printer.write(payload + "\n")
                self.printer.flush()
        return event
