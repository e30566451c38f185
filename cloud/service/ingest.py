"""The one ingest path that MQTT and HTTP share: check, de-duplicate, store, announce.

Callers hand over messages already parsed into the `shared.messages` models;
`parse_device_message` does that for MQTT (the HTTP routes let FastAPI do it). Identity
is checked twice: the payload must name the device of its topic (or token), and that
device must be registered at the site it claims.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from pydantic import ValidationError
from sqlalchemy import Table, TextClause, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, sessionmaker

from cloud.service.alerts import AlertChanges, open_alerts
from cloud.service.calibration import fold_heartbeat
from cloud.service.db.tables import Device, DeviceCommand, Event, HeartbeatRecord
from cloud.service.db.upsert import insert_ignoring
from cloud.service.live_relay import LiveSink
from cloud.service.metrics import ServiceMetrics
from cloud.service.schemas import AlertPublic, DevicePublic
from shared.messages import ActionEvent, CommandAck, DeviceState, Heartbeat, utc_now
from shared.topics import TopicError, parse_device_topic

log = logging.getLogger(__name__)

DeviceMessage = ActionEvent | Heartbeat | CommandAck
_MODELS: dict[str, type[DeviceMessage]] = {
    "events": ActionEvent,
    "status": Heartbeat,
    "ack": CommandAck,
}


class Rejected(ValueError):
    """A message Vigil refuses; `reason` is the metric label (invalid, topic, identity...)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def parse_device_message(topic: str, payload: bytes) -> DeviceMessage:
    """Validate an MQTT message against its topic: right model, right site and device."""
    try:
        where = parse_device_topic(topic)
    except TopicError as exc:
        raise Rejected("topic", str(exc)) from None
    model = _MODELS.get(where.kind)
    if model is None:
        raise Rejected("topic", f"devices do not publish on {where.kind!r} topics")
    try:
        message = model.model_validate_json(payload)
    except ValidationError as exc:
        raise Rejected("invalid", f"{topic}: {exc.error_count()} validation error(s)") from None
    check_identity(message, where.site, where.device)
    return message


def check_identity(message: DeviceMessage, site: str | None, device_id: str) -> None:
    """Refuse a payload that names another device (or site) than its topic or token."""
    if message.device_id != device_id or (site is not None and message.site != site):
        raise Rejected(
            "identity",
            f"payload of {message.site}/{message.device_id} arrived as {site}/{device_id}",
        )


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    rejected: int


class Ingestor:
    """Writes events, heartbeats and acks, then pushes what is new to the live stream."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        hub: LiveSink,
        metrics: ServiceMetrics,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._sessions, self._hub, self._metrics, self._clock = sessions, hub, metrics, clock

    def ingest_events(self, events: Sequence[ActionEvent], source: str) -> IngestResult:
        """Store new events (by `event_id`) of registered devices, open alerts, update status."""
        unique = list({e.event_id: e for e in events}.values())
        now = self._clock()
        with self._sessions.begin() as session:
            known = device_rows(session, {e.device_id for e in unique})
            accepted = [e for e in unique if _registered_at(known, e.device_id, e.site)]
            inserted = insert_events(session, accepted, now)
            new = [e for e in accepted if e.event_id in inserted]
            alerts = open_alerts(session, new, now)
            woke = mark_online(session, known, {e.device_id for e in accepted}, now)
        rejected = len(unique) - len(accepted)  # devices not registered (at that site)
        result = IngestResult(len(new), len(events) - len(new) - rejected, rejected)
        self._count(result, source, new, now)
        self._announce(new, inserted, now, alerts, woke)
        return result

    def record_heartbeat(self, heartbeat: Heartbeat, source: str) -> None:
        """Keep the heartbeat's history and, when it is the newest, the device's status."""
        now = self._clock()
        with self._sessions.begin() as session:
            device = registered_device(session, heartbeat.device_id, heartbeat.site)
            if device.last_heartbeat_at == heartbeat.sent_at:
                return  # the retained status, delivered again on (re)subscribe
            session.add(heartbeat_record(heartbeat, now))
            device.score_history = fold_heartbeat(device.score_history, heartbeat)
            if device.last_heartbeat_at is None or heartbeat.sent_at > device.last_heartbeat_at:
                apply_heartbeat(device, heartbeat, now)
            public = DevicePublic.model_validate(device)
        self._metrics.messages.inc(source=source, kind="status")
        self._hub.publish("device", public.model_dump(mode="json"))

    def record_ack(self, ack: CommandAck, source: str) -> None:
        with self._sessions.begin() as session:
            registered_device(session, ack.device_id, ack.site)
            done = session.execute(
                update(DeviceCommand)
                .where(DeviceCommand.id == ack.command_id, DeviceCommand.device_id == ack.device_id)
                .values(acked_at=ack.acked_at, ok=ack.ok, detail=ack.detail)
            )
            if done.rowcount != 1:  # type: ignore[attr-defined]
                raise Rejected(
                    "unknown_command", f"no command {ack.command_id} for {ack.device_id}"
                )
        self._metrics.messages.inc(source=source, kind="ack")

    def _count(
        self, result: IngestResult, source: str, new: list[ActionEvent], now: datetime
    ) -> None:
        m = self._metrics
        m.messages.inc(
            result.accepted + result.duplicates + result.rejected, source=source, kind="events"
        )
        m.events.inc(result.accepted, source=source)
        m.duplicates.inc(result.duplicates, source=source)
        if result.rejected:
            m.rejects.inc(result.rejected, source=source, reason="unknown_device")
        for event in new:
            at = event.ended_at if event.ended_at is not None else event.started_at
            if event.type.value != "update":
                m.event_age.observe(max(0.0, (now - at).total_seconds()), source=source)

    def _announce(
        self,
        new: list[ActionEvent],
        ids: dict[uuid.UUID, int],
        now: datetime,
        alerts: AlertChanges,
        woke: list[Device],
    ) -> None:
        for event in new:
            self._hub.publish("event", event_payload(event, ids[event.event_id], now))
        self._metrics.alerts_opened.inc(len(alerts.opened))
        for alert in [*alerts.opened, *alerts.changed]:
            self._hub.publish("alert", AlertPublic.model_validate(alert).model_dump(mode="json"))
        for device in woke:
            self._hub.publish("device", DevicePublic.model_validate(device).model_dump(mode="json"))


def device_rows(session: Session, ids: set[str]) -> dict[str, Device]:
    if not ids:
        return {}
    return {d.id: d for d in session.scalars(select(Device).where(Device.id.in_(ids)))}


def _registered_at(known: dict[str, Device], device_id: str, site: str) -> bool:
    device = known.get(device_id)
    return device is not None and device.site == site


def registered_device(session: Session, device_id: str, site: str) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise Rejected("unknown_device", f"device {device_id!r} is not registered")
    if device.site != site:
        raise Rejected("identity", f"device {device_id!r} belongs to {device.site}, not {site}")
    return device


def insert_events(
    session: Session, events: Sequence[ActionEvent], now: datetime
) -> dict[uuid.UUID, int]:
    """Insert, skipping event ids already stored; returns {event_id: row id} of new rows."""
    if not events:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(UNNEST_EVENTS, event_columns(events, now))
    else:
        stmt = insert_ignoring(session, Event, ["event_id"]).returning(Event.event_id, Event.id)
        rows = session.execute(stmt, [event_row(e, now) for e in events])
    return {row.event_id: row.id for row in rows}


# What the ingest writes: every column of the table but its row id (the event's fields
# and `received_at`), read from the table so that a new field is a new column, no more.
EVENT_COLUMNS = tuple(c.name for c in Event.__table__.columns if not c.primary_key)


def unnest_insert(table: Table, columns: Sequence[str], conflict: str) -> TextClause:
    """INSERT ... SELECT FROM unnest(one array per column) ON CONFLICT DO NOTHING.

    One array parameter per column instead of one parameter per value: psycopg re-parses
    a statement of more than 50 parameters on every execution (its query cache stops
    there), which made a 500-event batch's multi-row VALUES cost ~57 ms against ~18 ms
    this way (bench/ingest.py; https://www.psycopg.org/psycopg3/docs/advanced/prepare.html).
    """
    dialect = postgresql.dialect()
    arrays = ", ".join(
        f"CAST(:{name} AS {table.columns[name].type.compile(dialect=dialect)}[])"
        for name in columns
    )
    return text(
        f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {conflict}, id"
    )


EVENTS: Table = Event.__table__  # type: ignore[assignment]  # declared as a Table
UNNEST_EVENTS = unnest_insert(EVENTS, EVENT_COLUMNS, "event_id")


def event_columns(events: Sequence[ActionEvent], now: datetime) -> dict[str, list[object]]:
    """The batch as one list per column (enums as their values, times in UTC)."""
    rows = [event_row(e, now) for e in events]
    return {name: [row[name] for row in rows] for name in EVENT_COLUMNS}


def event_row(event: ActionEvent, now: datetime) -> dict[str, object]:
    """One table row of an event: its fields (enums as their values) and when it arrived."""
    fields = {k: v.value if isinstance(v, Enum) else v for k, v in event.model_dump().items()}
    return {**fields, "received_at": now}


def event_payload(event: ActionEvent, row_id: int, now: datetime) -> dict[str, object]:
    return {"id": row_id, **event.model_dump(mode="json"), "received_at": now.isoformat()}


def mark_online(
    session: Session, known: dict[str, Device], ids: set[str], now: datetime
) -> list[Device]:
    """Set last-seen (and online) for devices that sent events; returns those that woke up."""
    woke = []
    for device_id in ids:
        device = known[device_id]
        if device.last_seen_at is None or device.last_seen_at < now:
            device.last_seen_at = now
        if device.status != DeviceState.ONLINE:
            device.status = DeviceState.ONLINE.value
            woke.append(device)
    return woke


def heartbeat_record(heartbeat: Heartbeat, now: datetime) -> HeartbeatRecord:
    return HeartbeatRecord(
        device_id=heartbeat.device_id,
        sent_at=heartbeat.sent_at,
        received_at=now,
        status=heartbeat.status.value,
        payload=heartbeat.model_dump(mode="json"),
    )


def apply_heartbeat(device: Device, heartbeat: Heartbeat, now: datetime) -> None:
    device.status = heartbeat.status.value
    device.last_heartbeat_at = heartbeat.sent_at
    device.last_heartbeat = heartbeat.model_dump(mode="json")
    device.model_version = heartbeat.model_version or device.model_version
    if heartbeat.status is DeviceState.ONLINE:
        device.last_seen_at = now
