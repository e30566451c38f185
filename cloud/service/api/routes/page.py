"""What the dashboard page needs to know of the service's settings, for any signed-in person."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from cloud.service.api.deps import CurrentViewer, ServicesDep

router = APIRouter(prefix="/dashboard", tags=["dashboard"])


class DashboardSettings(BaseModel):
    mute_max_s: int = Field(description="a Mute silences the open alerts this long at most")


@router.get("/settings")
def dashboard_settings(services: ServicesDep, _: CurrentViewer) -> DashboardSettings:
    """The settings the dashboard page follows (how long a mute may last)."""
    return DashboardSettings(mute_max_s=services.settings.dashboard_mute_max_s)
