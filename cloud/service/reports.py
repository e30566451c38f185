"""Reports: what each room's alerts came to over a period, for the people who run the home.

Per room (a device; Vigil keeps no resident records, so a room stands for its resident),
over the alerts that started in the period:

- possible falls: every two-stage fall (each starts possible); got up: those the edge
  closed as recovered before the alarm;
- falls: the alarms (confirmed two-stage falls, and one-stage critical falls of older
  agents); long lies: the second alarm after a fall;
- real falls and false alarms: the answers "real fall" and "not a fall" to "What
  happened?"; unanswered: alarms still open;
- time to acknowledge (median, 90th percentile): opened to acknowledged by a person, over
  the alarms (falls and long lies) a person acknowledged; recorded by the service, not
  simulated;
- time on the floor (median, longest): a fall's start to its end as the edge saw it, or
  to its acknowledgement when the edge had not seen it end.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.service.db.tables import Alert, Device
from cloud.service.device_watch import SYSTEM
from shared.labels import is_fall_label
from shared.messages import FallStage

LONG_LIE = "long_lie"


@dataclass(frozen=True)
class RoomReport:
    device_id: str
    site: str
    room: str
    possible_falls: int
    got_up: int
    falls: int
    long_lies: int
    real_falls: int
    false_alarms: int
    unanswered: int
    ack_p50_s: float | None
    ack_p90_s: float | None
    on_floor_median_s: float | None
    on_floor_max_s: float | None


def is_alarm_fall(alert: Alert) -> bool:
    if alert.stage is not None:
        return alert.stage == FallStage.CONFIRMED.value
    return alert.severity == "critical" and is_fall_label(alert.action)


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def room_report(device: Device, alerts: list[Alert]) -> RoomReport:
    falls = [a for a in alerts if is_alarm_fall(a)]
    alarms = falls + [a for a in alerts if a.action == LONG_LIE]
    by_people = [a for a in alarms if a.acknowledged_at and a.acknowledged_by != SYSTEM]
    took = [(a.acknowledged_at - a.opened_at).total_seconds() for a in by_people]  # type: ignore[operator]
    floor = [
        (end - a.started_at).total_seconds()
        for a in falls
        if (end := a.ended_at or a.acknowledged_at) is not None
    ]
    return RoomReport(
        device_id=device.id,
        site=device.site,
        room=device.name or device.id,
        possible_falls=sum(a.stage is not None for a in alerts),
        got_up=sum(a.stage == FallStage.RECOVERED.value for a in alerts),
        falls=len(falls),
        long_lies=sum(a.action == LONG_LIE for a in alerts),
        real_falls=sum(a.outcome == "real_fall" for a in alerts),
        false_alarms=sum(a.outcome == "not_a_fall" for a in alerts),
        unanswered=sum(a.acknowledged_at is None for a in alarms),
        ack_p50_s=percentile(took, 50),
        ack_p90_s=percentile(took, 90),
        on_floor_median_s=percentile(floor, 50),
        on_floor_max_s=max(floor, default=None),
    )


def room_reports(
    session: Session, site: str | None, since: datetime, until: datetime
) -> list[RoomReport]:
    """Every room (of `site`, or all), its alerts that started in [since, until)."""
    devices = select(Device).order_by(Device.site, Device.name, Device.id)
    if site is not None:
        devices = devices.where(Device.site == site)
    alerts = select(Alert).where(Alert.started_at >= since, Alert.started_at < until)
    if site is not None:
        alerts = alerts.where(Alert.site == site)
    by_device: dict[str, list[Alert]] = {}
    for alert in session.scalars(alerts):
        by_device.setdefault(alert.device_id, []).append(alert)
    return [room_report(d, by_device.get(d.id, [])) for d in session.scalars(devices)]


CSV_FIELDS = tuple(RoomReport.__dataclass_fields__)


def as_csv(rows: list[RoomReport]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in asdict(row).items()})
    return out.getvalue()
