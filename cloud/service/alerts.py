"""Alerts: a critical event opens one alert per episode; a person acknowledges it.

An episode is what the edge's state machine reports with one start, its updates and one
end: they share device, camera, action and `started_at` (edge/events.py), so that tuple
is the alert's key. An update or end whose start was lost still opens the alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cloud.service.db.tables import Alert
from cloud.service.db.upsert import insert_ignoring
from shared.labels import Severity
from shared.messages import ActionEvent, EventType


class AlertNotFound(LookupError):
    """No alert has this id."""


class AlertAlreadyAcknowledged(RuntimeError):
    """Somebody acknowledged the alert already."""


def episode_key(event: ActionEvent) -> str:
    return f"{event.device_id}|{event.camera}|{event.action}|{event.started_at.isoformat()}"


def opens_alert(event: ActionEvent) -> bool:
    return event.severity is Severity.CRITICAL


def open_alerts(session: Session, events: Sequence[ActionEvent], now: datetime) -> list[Alert]:
    """Open an alert for each new critical episode; close episodes that ended. Returns new ones."""
    critical = [e for e in events if opens_alert(e)]
    if not critical:
        return []
    rows = {episode_key(e): alert_row(e, now) for e in critical}
    stmt = insert_ignoring(session, Alert, ["episode_key"]).returning(Alert.id)
    new_ids = [row.id for row in session.execute(stmt, list(rows.values()))]
    for event in critical:
        if event.type is EventType.END:
            session.execute(
                update(Alert)
                .where(Alert.episode_key == episode_key(event), Alert.ended_at.is_(None))
                .values(ended_at=event.ended_at)
            )
    if not new_ids:
        return []
    return list(session.scalars(select(Alert).where(Alert.id.in_(new_ids))))


def alert_row(event: ActionEvent, now: datetime) -> dict[str, object]:
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
    }


def acknowledge(
    session: Session, alert_id: int, who: str, note: str | None, now: datetime
) -> Alert:
    """Record who acknowledged the alert, when, and their note; only the first one counts."""
    alert = session.get(Alert, alert_id, with_for_update=True)
    if alert is None:
        raise AlertNotFound(alert_id)
    if alert.acknowledged_at is not None:
        raise AlertAlreadyAcknowledged(
            f"alert {alert_id} was acknowledged by {alert.acknowledged_by} at "
            f"{alert.acknowledged_at.isoformat()}"
        )
    alert.acknowledged_at, alert.acknowledged_by, alert.ack_note = now, who, note
    return alert
