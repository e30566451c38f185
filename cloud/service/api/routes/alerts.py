"""Alerts: list them, acknowledge one (who, when, note), see its escalations."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.service.alerts import AlertAlreadyAcknowledged, AlertNotFound, acknowledge
from cloud.service.api.deps import CurrentViewer, RowId, ServicesDep, SessionDep
from cloud.service.db.tables import Alert, AlertEscalation
from cloud.service.outcomes import label_alert_clips
from cloud.service.schemas import (
    AlertAcknowledge,
    AlertDetail,
    AlertPublic,
    EscalationPublic,
    Outcome,
)
from shared.messages import Id, utc_now

router = APIRouter(prefix="/alerts", tags=["alerts"])


@router.get("")
def list_alerts(
    session: SessionDep,
    _: CurrentViewer,
    state: Literal["open", "acknowledged", "all"] = "open",
    site: Id | None = None,
    outcome: Outcome | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AlertPublic]:
    """Alerts, newest first: open (not acknowledged) by default; by `outcome` if given."""
    query = select(Alert)
    if state == "open":
        query = query.where(Alert.acknowledged_at.is_(None))
    elif state == "acknowledged":
        query = query.where(Alert.acknowledged_at.is_not(None))
    if site is not None:
        query = query.where(Alert.site == site)
    if outcome is not None:
        query = query.where(Alert.outcome == outcome.value)
    rows = session.scalars(query.order_by(Alert.opened_at.desc(), Alert.id.desc()).limit(limit))
    return [AlertPublic.model_validate(row) for row in rows]


@router.get("/{alert_id}")
def read_alert(alert_id: RowId, session: SessionDep, _: CurrentViewer) -> AlertDetail:
    """One alert, with its escalations."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}")
    return AlertDetail(
        **AlertPublic.model_validate(alert).model_dump(), escalations=escalations(session, alert_id)
    )


@router.post("/{alert_id}/acknowledge")
def acknowledge_alert(
    alert_id: RowId,
    body: AlertAcknowledge,
    session: SessionDep,
    services: ServicesDep,
    viewer: CurrentViewer,
) -> AlertPublic:
    """Acknowledge an alert (who: the caller's token name), with what happened (`outcome`)."""
    now = utc_now()
    try:
        outcome = body.outcome.value if body.outcome is not None else None
        alert = acknowledge(session, alert_id, viewer.name, body.note, now, outcome)
    except AlertNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}") from None
    except AlertAlreadyAcknowledged as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    if body.outcome is not None:
        production = services.registry.production(session)
        label_alert_clips(session, alert, production.labels if production else None, now)
    session.commit()
    public = AlertPublic.model_validate(alert)
    services.hub.publish("alert", public.model_dump(mode="json"))
    return public


@router.get("/{alert_id}/escalations")
def list_escalations(
    alert_id: RowId, session: SessionDep, _: CurrentViewer
) -> list[EscalationPublic]:
    """The alert's escalation steps (dashboard and webhook), oldest first."""
    return escalations(session, alert_id)


def escalations(session: Session, alert_id: int) -> list[EscalationPublic]:
    rows = session.scalars(
        select(AlertEscalation)
        .where(AlertEscalation.alert_id == alert_id)
        .order_by(AlertEscalation.id)
    )
    return [EscalationPublic.model_validate(row) for row in rows]
