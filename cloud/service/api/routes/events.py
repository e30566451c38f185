"""Events: batch ingest from a device (HTTP fallback for MQTT) and queries for viewers."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import select

from cloud.service.api.deps import (
    INT64_MAX,
    CurrentViewer,
    IngestingDevice,
    ServicesDep,
    SessionDep,
)
from cloud.service.db.tables import Event
from cloud.service.ingest import Rejected, check_identity
from cloud.service.schemas import EventBatch, EventPublic, IngestReceipt
from shared.labels import Severity
from shared.messages import Id, Label, UtcDatetime

router = APIRouter(prefix="/events", tags=["events"])


@router.post("")
def ingest_events(
    batch: EventBatch, device: IngestingDevice, services: ServicesDep
) -> IngestReceipt:
    """Store a batch of the device's own events; duplicates (by event_id) are skipped."""
    started = time.monotonic()
    try:
        for event in batch.events:
            check_identity(event, device.site, str(device.device_id))
    except Rejected as exc:
        services.metrics.rejects.inc(len(batch.events), source="http", reason=exc.reason)
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    result = services.ingestor.ingest_events(batch.events, "http")
    services.metrics.ingest_lag.observe(time.monotonic() - started, source="http")
    return IngestReceipt(accepted=result.accepted, duplicates=result.duplicates)


@router.get("")
def list_events(
    session: SessionDep,
    _: CurrentViewer,
    device_id: Id | None = None,
    site: Id | None = None,
    action: Label | None = None,
    severity: Severity | None = None,
    since: Annotated[
        UtcDatetime | None, Query(description="started at or after (with a time zone)")
    ] = None,
    before_id: Annotated[
        int | None, Query(le=INT64_MAX, description="page: events older than this id")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[EventPublic]:
    """Events, newest first, filtered."""
    query = select(Event)
    for column, value in (
        (Event.device_id, device_id),
        (Event.site, site),
        (Event.action, action),
        (Event.severity, severity),
    ):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(Event.started_at >= since)
    if before_id is not None:
        query = query.where(Event.id < before_id)
    rows = session.scalars(query.order_by(Event.id.desc()).limit(limit))
    return [EventPublic.model_validate(row) for row in rows]
