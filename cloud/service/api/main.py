"""All routers under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

from cloud.service.api.routes import (
    alerts,
    clips,
    devices,
    events,
    models,
    page,
    reports,
    sites,
    stream,
    tokens,
    training_jobs,
)

api_router = APIRouter()
ROUTERS = (
    devices,
    events,
    alerts,
    clips,
    training_jobs,
    models,
    tokens,
    stream,
    page,
    sites,
    reports,
)
for module in ROUTERS:
    api_router.include_router(module.router)
