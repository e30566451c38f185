"""Request dependencies as `Annotated` aliases: the services, a session, who is calling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from cloud.service.auth import Principal, Role, authenticate
from cloud.service.ratelimit import RateLimiter, retry_after_header
from cloud.service.services import Services

bearer = HTTPBearer(auto_error=False, description="admin, viewer or device token")

# The database's integer ranges: a larger id or offset is a 422, not the driver's overflow
# (a 500) when the query runs.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=INT32_MAX, description="the row's id")]
Offset = Annotated[int, Query(ge=0, le=INT64_MAX)]


def invalid_input(loc: tuple[str | int, ...], message: str) -> RequestValidationError:
    """A 422 in the shape the OpenAPI schema documents (`detail`: a list of errors), for
    checks a schema cannot state (a folder that must exist, a label the model knows)."""
    return RequestValidationError([{"type": "value_error", "loc": loc, "msg": message}])


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    with services.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def _principal(request: Request, services: Services, token: str | None) -> Principal:
    if not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    limiter: RateLimiter = request.app.state.sign_in_limiter
    address = request.client.host if request.client else "unknown"
    if wait := limiter.retry_after(address):
        raise too_many(services, "sign_in", wait, "too many unknown tokens from this address")
    # A session of its own, closed at once: SQLite's write lock is not held by auth.
    with services.sessions() as session:
        principal = authenticate(session, token, services.settings.admin_secret)
    if principal is None:
        limiter.spend(address)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "unknown or revoked token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def too_many(services: Services, limit: str, wait: float, message: str) -> HTTPException:
    services.metrics.rate_limited.inc(limit=limit)
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, message, retry_after_header(wait))


def get_principal(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    return _principal(request, services, credentials.credentials if credentials else None)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def get_viewer(principal: CurrentPrincipal) -> Principal:
    if not principal.can_view:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "needs a viewer or admin token")
    return principal


def get_admin(principal: CurrentPrincipal) -> Principal:
    if principal.role is not Role.ADMIN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "needs the admin token")
    return principal


def get_device(principal: CurrentPrincipal) -> Principal:
    if principal.role is not Role.DEVICE:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "needs a device token")
    return principal


CurrentDevice = Annotated[Principal, Depends(get_device)]


def get_ingesting_device(
    request: Request, services: ServicesDep, device: CurrentDevice
) -> Principal:
    """A device sending events, heartbeats or clips, within its request rate."""
    limiter: RateLimiter = request.app.state.ingest_limiter
    if wait := limiter.spend(str(device.device_id)):
        raise too_many(services, "ingest", wait, "this device is sending too fast; retry later")
    return device


def get_stream_viewer(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    token: Annotated[
        str | None, Query(description="for EventSource, which cannot set headers")
    ] = None,
) -> Principal:
    principal = _principal(request, services, credentials.credentials if credentials else token)
    return get_viewer(principal)


CurrentViewer = Annotated[Principal, Depends(get_viewer)]
CurrentAdmin = Annotated[Principal, Depends(get_admin)]
IngestingDevice = Annotated[Principal, Depends(get_ingesting_device)]
StreamViewer = Annotated[Principal, Depends(get_stream_viewer)]
