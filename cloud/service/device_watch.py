"""Rooms that go dark raise alarms.

A device silent for `device_offline_after_s` (three heartbeats of the agent's default
10 s) becomes `offline`; an offline device, whether it fell silent or its last will or
last heartbeat said so, has an open `device_offline` warning alert; a device whose
latest heartbeat says its camera failed has an open `camera_fault` one. Each closes by
itself when the device is back: it ends, and stays in the log acknowledged by `vigil`
with a note of when. A carer may acknowledge one sooner; it still ends by itself.

`watch_devices` is one pass, run from the escalator's loop. Marking a device offline is a
conditional UPDATE and an alert is an insert that skips a duplicate episode key, so two
processes running it never double one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from cloud.service.db.tables import Alert, Device
from cloud.service.db.upsert import insert_ignoring
from shared.labels import Severity
from shared.messages import DeviceState

DEVICE_OFFLINE = "device_offline"
CAMERA_FAULT = "camera_fault"
SYSTEM = "vigil"  # who acknowledges an alert that closed by itself


@dataclass
class Changes:
    devices: list[str] = field(default_factory=list)  # ids whose status changed
    alerts: list[int] = field(default_factory=list)  # ids opened or closed


def watch_devices(
    sessions: sessionmaker[Session], now: datetime, offline_after_s: float
) -> Changes:
    changes = Changes()
    with sessions.begin() as session:
        changes.devices = mark_silent_offline(session, now - timedelta(seconds=offline_after_s))
        devices = session.scalars(select(Device)).all()
        ongoing = {
            (a.device_id, a.action): a
            for a in session.scalars(
                select(Alert).where(
                    Alert.action.in_([DEVICE_OFFLINE, CAMERA_FAULT]), Alert.ended_at.is_(None)
                )
            )
        }
        for device in devices:
            dark = device.status == DeviceState.OFFLINE.value
            checks = [(DEVICE_OFFLINE, dark, device.last_seen_at)]
            if not dark:  # while it is dark, nobody knows how its camera is
                checks.append((CAMERA_FAULT, camera_failed(device), device.last_heartbeat_at))
            for action, wrong, since in checks:
                alert = ongoing.get((device.id, action))
                if wrong and alert is None and since is not None:
                    changes.alerts += open_dark_alert(session, device, action, since, now)
                elif not wrong and alert is not None:
                    close_dark_alert(alert, now)
                    changes.alerts.append(alert.id)
    return changes


def mark_silent_offline(session: Session, cutoff: datetime) -> list[str]:
    """Online devices last seen before `cutoff` become offline; their ids."""
    silent = session.scalars(
        select(Device.id).where(
            Device.status == DeviceState.ONLINE.value, Device.last_seen_at < cutoff
        )
    ).all()
    marked = []
    for device_id in silent:
        result = session.execute(
            update(Device)
            .where(
                Device.id == device_id,
                Device.status == DeviceState.ONLINE.value,
                Device.last_seen_at < cutoff,
            )
            .values(status=DeviceState.OFFLINE.value)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            marked.append(device_id)
    return marked


def camera_failed(device: Device) -> bool:
    heartbeat = device.last_heartbeat or {}
    return heartbeat.get("camera_ok") is False


def open_dark_alert(
    session: Session, device: Device, action: str, since: datetime, now: datetime
) -> list[int]:
    key = f"{device.id}|{action}|{since.isoformat()}"
    row = {
        "episode_key": key,
        "device_id": device.id,
        "site": device.site,
        "camera": "cam0",
        "action": action,
        "severity": Severity.WARNING.value,
        "confidence": 1.0,
        "started_at": since,
        "opened_at": now,
        "first_event_id": uuid.uuid5(uuid.NAMESPACE_URL, f"vigil:{key}"),
    }
    stmt = insert_ignoring(session, Alert, ["episode_key"]).returning(Alert.id)
    return [r.id for r in session.execute(stmt, [row])]


def close_dark_alert(alert: Alert, now: datetime) -> None:
    alert.ended_at = now
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = now, SYSTEM
        back = "back online" if alert.action == DEVICE_OFFLINE else "camera working again"
        alert.ack_note = f"Closed by itself: {back} at {now.isoformat(timespec='seconds')}."
