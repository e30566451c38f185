"""Reports: per room over a period, as JSON or as a CSV download."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response, status

from cloud.service.api.deps import CurrentViewer, SessionDep
from cloud.service.reports import as_csv, room_reports
from cloud.service.schemas import RoomReportPublic
from shared.messages import Id, UtcDatetime, utc_now

router = APIRouter(prefix="/reports", tags=["reports"])
DEFAULT_PERIOD = timedelta(days=30)


@dataclass(frozen=True)
class Period:
    site: str | None
    since: datetime
    until: datetime


def report_period(
    site: Id | None = None, since: UtcDatetime | None = None, until: UtcDatetime | None = None
) -> Period:
    """The report's rooms (a site, or all) and period (default: the last 30 days)."""
    end = until or utc_now()
    start = since or end - DEFAULT_PERIOD
    if start >= end:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "since must be before until")
    return Period(site, start, end)


PeriodDep = Annotated[Period, Depends(report_period)]


@router.get("/rooms")
def rooms_report(session: SessionDep, _: CurrentViewer, p: PeriodDep) -> list[RoomReportPublic]:
    """Per room, the alerts that started in the period (default: the last 30 days)."""
    return [RoomReportPublic(**asdict(r)) for r in room_reports(session, p.site, p.since, p.until)]


@router.get("/rooms.csv", response_class=Response)
def rooms_report_csv(session: SessionDep, _: CurrentViewer, p: PeriodDep) -> Response:
    """The same report as a CSV file, one row per room."""
    name = f"vigil-rooms-{p.since:%Y%m%d}-{p.until:%Y%m%d}.csv"
    return Response(
        as_csv(room_reports(session, p.site, p.since, p.until)),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
