"""Operations: liveness, readiness (database and broker) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from cloud.service.api.deps import ServicesDep
from cloud.service.services import Services

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(services: ServicesDep) -> JSONResponse:
    """Ready when the database answers and, if one is configured, the broker is connected."""
    checks = {"database": database_ok(services), **broker_checks(services)}
    ready = all(checks.values())
    return JSONResponse(
        {"ready": ready, "checks": checks},
        status_code=status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE,
    )


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(services: ServicesDep) -> PlainTextResponse:
    """Prometheus text format: ingest rate, rejects, duplicates, lag, job durations."""
    return PlainTextResponse(
        services.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )


def database_ok(services: Services) -> bool:
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        return False


def broker_checks(services: Services) -> dict[str, bool]:
    checks = {}
    if services.publisher is not None:
        checks["broker"] = services.publisher.connected
    if services.mqtt_ingest is not None:
        checks["ingest_subscribed"] = services.mqtt_ingest.connected
    return checks
