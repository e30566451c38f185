"""Reports: per room over a period, as JSON or as a CSV download."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from fastapi import APIRouter, HTTPException, Response, status

from cloud.service.api.deps import CurrentViewer, SessionDep
from cloud.service.reports import as_csv, room_reports
from cloud.service.schemas import RoomReportPublic
from shared.messages import Id, UtcDatetime, utc_now

router = APIRouter(prefix="/reports", tags=["reports"])
DEFAULT_PERIOD = timedelta(days=30)


def period(since: UtcDatetime | None, until: UtcDatetime | None) -> tuple:
    end = until or utc_now()
    start = since or end - DEFAULT_PERIOD
    if start >= end:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "since must be before until")
    return start, end


@router.get("/rooms")
def rooms_report(
    session: SessionDep,
    _: CurrentViewer,
    site: Id | None = None,
    since: UtcDatetime | None = None,
    until: UtcDatetime | None = None,
) -> list[RoomReportPublic]:
    """Per room, the alerts that started in the period (default: the last 30 days)."""
    start, end = period(since, until)
    return [RoomReportPublic(**asdict(r)) for r in room_reports(session, site, start, end)]


@router.get("/rooms.csv", response_class=Response)
def rooms_report_csv(
    session: SessionDep,
    _: CurrentViewer,
    site: Id | None = None,
    since: UtcDatetime | None = None,
    until: UtcDatetime | None = None,
) -> Response:
    """The same report as a CSV file, one row per room."""
    start, end = period(since, until)
    name = f"vigil-rooms-{start:%Y%m%d}-{end:%Y%m%d}.csv"
    return Response(
        as_csv(room_reports(session, site, start, end)),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
