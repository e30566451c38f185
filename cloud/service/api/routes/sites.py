"""Sites: each room's learning phase, and calibrating its fall threshold from it."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloud.service.api.deps import CurrentAdmin, CurrentViewer, ServicesDep, SessionDep
from cloud.service.calibration import calibrate, learned, since_of
from cloud.service.commands import send_command
from cloud.service.db.tables import Alert, Calibration, Device
from cloud.service.mqtt import PublishError
from cloud.service.schemas import CalibrateRequest, CalibrationPublic, Outcome, RoomLearning
from shared.messages import CommandKind, Id, Thresholds, utc_now

router = APIRouter(prefix="/sites", tags=["sites"])
FALSE_ALARMS_OVER = timedelta(days=7)


def devices_of(session: Session, site: str) -> list[Device]:
    rows = list(session.scalars(select(Device).where(Device.site == site).order_by(Device.id)))
    if not rows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no devices at site {site!r}")
    return rows


def running_thresholds(device: Device) -> Thresholds | None:
    """The thresholds the device said it runs (its last heartbeat), if it said."""
    sent = (device.last_heartbeat or {}).get("thresholds")
    return Thresholds.model_validate(sent) if sent else None


def last_calibration(session: Session, device_id: str) -> Calibration | None:
    query = select(Calibration).where(Calibration.device_id == device_id)
    return session.scalars(query.order_by(Calibration.id.desc()).limit(1)).first()


@router.get("/{site}/learning")
def site_learning(site: Id, session: SessionDep, _: CurrentViewer) -> list[RoomLearning]:
    """Each room's learning phase: its threshold, its last calibration, its false alarms."""
    since = utc_now() - FALSE_ALARMS_OVER
    out = []
    for device in devices_of(session, site):
        bins, observed_s = learned(device.score_history)
        running = running_thresholds(device)
        false_alarms = session.scalar(
            select(func.count(Alert.id)).where(
                Alert.device_id == device.id,
                Alert.outcome == Outcome.NOT_A_FALL.value,
                Alert.started_at >= since,
            )
        )
        calibration = last_calibration(session, device.id)
        out.append(
            RoomLearning(
                device_id=device.id,
                name=device.name,
                threshold=running.fall_enter if running else None,
                learning_since=since_of(device.score_history),
                observed_h=observed_s / 3600,
                windows=sum(bins),
                false_alarms_7d=false_alarms or 0,
                calibration=CalibrationPublic.model_validate(calibration) if calibration else None,
            )
        )
    return out


@router.post("/{site}/calibrate")
def calibrate_site(
    site: Id,
    body: CalibrateRequest,
    session: SessionDep,
    services: ServicesDep,
    admin: CurrentAdmin,
) -> list[RoomLearning]:
    """Set each room's fall threshold from its own scores to the false-alarm budget and
    push it to the device (a `set_thresholds` command); a room still learning is left."""
    if services.publisher is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no MQTT broker configured")
    settings = services.settings
    budget = body.budget_per_week or settings.alert_budget_per_week
    min_hours = settings.calibrate_min_hours if body.min_hours is None else body.min_hours
    for device in devices_of(session, site):
        bins, observed_s = learned(device.score_history)
        if observed_s <= 0 or observed_s < min_hours * 3600:
            continue  # still learning
        running = running_thresholds(device) or Thresholds()
        result = calibrate(bins, observed_s, budget, running)
        thresholds = running.model_copy(update={"fall_enter": result.threshold})
        try:
            command = send_command(
                session, services.publisher, settings.mqtt_topic_root, device,
                CommandKind.SET_THRESHOLDS, admin.name, thresholds=thresholds,
            )  # fmt: skip
        except PublishError as exc:
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from None
        session.add(
            Calibration(
                device_id=device.id, at=utc_now(), by=admin.name, threshold=result.threshold,
                previous=running.fall_enter, budget_per_week=budget,
                expected_per_week=result.expected_per_week, reachable=result.reachable,
                windows=result.windows, observed_s=result.observed_s, command_id=command.id,
            )
        )  # fmt: skip
        session.commit()
    return site_learning(site, session, admin)
