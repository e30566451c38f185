"""Alerts: a critical event opens one alert per episode; a person acknowledges it.

An episode is what the edge's state machine reports with one start, its updates and one
end: they share device, camera, action and `started_at` (edge/events.py), so that tuple
is the alert's key. An update or end whose start was lost still opens the alert.

A two-stage fall opens its alert as soon as it is `possible` (a warning). The edge then
confirms it (the alert becomes critical: the alarm) or ends it as `recovered` (the alert
closes by itself, acknowledged by `vigil`: the person got up). The cloud records what
the edge decided and never decides a stage itself; a stage only moves forward, so an
event that arrives late (a buffered `possible` after its confirmation) changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Update, select, update
from sqlalchemy.orm import Session

from cloud.service.db.tables import Alert
from cloud.service.db.upsert import insert_ignoring
from cloud.service.device_watch import SYSTEM
from shared.labels import Severity
from shared.messages import ActionEvent, EventType, FallStage

RECOVERED_NOTE = "Got up by themselves: the fall was not confirmed."


class AlertNotFound(LookupError):
    """No alert has this id."""


class AlertAlreadyAcknowledged(RuntimeError):
    """Somebody acknowledged the alert already."""


def episode_key(event: ActionEvent) -> str:
    return f"{event.device_id}|{event.camera}|{event.action}|{event.started_at.isoformat()}"


def opens_alert(event: ActionEvent) -> bool:
    """A critical episode, or any stage of a fall (a possible one is a warning)."""
    return event.severity is Severity.CRITICAL or event.stage is not None


@dataclass
class AlertChanges:
    """What one batch of events did to the alerts: opened some, moved or ended others."""

    opened: list[Alert] = field(default_factory=list)
    changed: list[Alert] = field(default_factory=list)


def open_alerts(session: Session, events: Sequence[ActionEvent], now: datetime) -> AlertChanges:
    """Open an alert for each new critical or staged episode; move stages forward; close
    episodes that ended."""
    relevant = [e for e in events if opens_alert(e)]
    if not relevant:
        return AlertChanges()
    rows = {episode_key(e): alert_row(e, now) for e in relevant}
    stmt = insert_ignoring(session, Alert, ["episode_key"]).returning(Alert.id)
    new_ids = {row.id for row in session.execute(stmt, list(rows.values()))}
    touched: set[int] = set()
    for event in relevant:
        touched |= apply_stage(session, event, now)
        if event.type is EventType.END:
            touched |= _ids(
                session,
                update(Alert)
                .where(Alert.episode_key == episode_key(event), Alert.ended_at.is_(None))
                .values(ended_at=event.ended_at),
            )
    ids = new_ids | touched
    if not ids:
        return AlertChanges()
    alerts = list(session.scalars(select(Alert).where(Alert.id.in_(ids)).order_by(Alert.id)))
    return AlertChanges(
        opened=[a for a in alerts if a.id in new_ids],
        changed=[a for a in alerts if a.id not in new_ids],
    )


def apply_stage(session: Session, event: ActionEvent, now: datetime) -> set[int]:
    """Move the episode's alert on to the event's stage, if that is forward; the ids moved."""
    key = Alert.episode_key == episode_key(event)
    if event.stage is FallStage.CONFIRMED:
        return _ids(
            session,
            update(Alert)
            .where(key, Alert.stage == FallStage.POSSIBLE.value)
            .values(
                stage=FallStage.CONFIRMED.value,
                severity=Severity.CRITICAL.value,
                confirmed_at=event.stage_at,
                confidence=event.confidence,
            ),
        )
    if event.stage is FallStage.RECOVERED:
        moved = _ids(
            session,
            update(Alert)
            .where(key, Alert.stage == FallStage.POSSIBLE.value)
            .values(stage=FallStage.RECOVERED.value),
        )
        # Nobody need come: the alert closes by itself (a carer's own answer stands).
        _ids(
            session,
            update(Alert)
            .where(key, Alert.stage == FallStage.RECOVERED.value, Alert.acknowledged_at.is_(None))
            .values(acknowledged_at=now, acknowledged_by=SYSTEM, ack_note=RECOVERED_NOTE),
        )
        return moved
    return set()


def _ids(session: Session, statement: Update) -> set[int]:
    return set(session.scalars(statement.returning(Alert.id)))


def alert_row(event: ActionEvent, now: datetime) -> dict[str, object]:
    recovered = event.stage is FallStage.RECOVERED
    return {
        "episode_key": episode_key(event),
        "device_id": event.device_id,
        "site": event.site,
        "camera": event.camera,
        "action": event.action,
        "confidence": event.confidence,
        "severity": event.severity.value,
        "started_at": event.started_at,
        "ended_at": event.ended_at,
        "opened_at": now,
        "first_event_id": event.event_id,
        # A start lost on the way: the alert opens at the stage this event has reached.
        "stage": None if event.stage is None else event.stage.value,
        "confirmed_at": event.stage_at if event.stage is FallStage.CONFIRMED else None,
        "acknowledged_at": now if recovered else None,
        "acknowledged_by": SYSTEM if recovered else None,
        "ack_note": RECOVERED_NOTE if recovered else None,
    }


def acknowledge(
    session: Session,
    alert_id: int,
    who: str,
    note: str | None,
    now: datetime,
    outcome: str | None = None,
) -> Alert:
    """Record who acknowledged the alert, when, their note and what happened; only the
    first one counts."""
    alert = session.get(Alert, alert_id, with_for_update=True)
    if alert is None:
        raise AlertNotFound(alert_id)
    if alert.acknowledged_at is not None:
        raise AlertAlreadyAcknowledged(
            f"alert {alert_id} was acknowledged by {alert.acknowledged_by} at "
            f"{alert.acknowledged_at.isoformat()}"
        )
    alert.acknowledged_at, alert.acknowledged_by, alert.ack_note = now, who, note
    alert.outcome = outcome
    return alert
