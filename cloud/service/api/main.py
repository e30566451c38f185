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
    sites,
    stream,
    tokens,
    training_jobs,
)

api_router = APIRouter()
for module in (devices, events, alerts, clips, training_jobs, models, tokens, stream, page, sites):
    api_router.include_router(module.router)
