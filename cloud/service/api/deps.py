"""Request dependencies as `Annotated` aliases: the services, a session, who is calling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from cloud.service.auth import Principal, Role, authenticate
from cloud.service.services import Services

bearer = HTTPBearer(auto_error=False, description="admin, viewer or device token")


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    with services.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def _principal(services: Services, token: str | None) -> Principal:
    if not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # A session of its own, closed at once: SQLite's write lock is not held by auth.
    with services.sessions() as session:
        principal = authenticate(session, token, services.settings.admin_secret)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "unknown or revoked token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def get_principal(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    return _principal(services, credentials.credentials if credentials else None)


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


def get_stream_viewer(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    token: Annotated[
        str | None, Query(description="for EventSource, which cannot set headers")
    ] = None,
) -> Principal:
    principal = _principal(services, credentials.credentials if credentials else token)
    return get_viewer(principal)


CurrentViewer = Annotated[Principal, Depends(get_viewer)]
CurrentAdmin = Annotated[Principal, Depends(get_admin)]
CurrentDevice = Annotated[Principal, Depends(get_device)]
StreamViewer = Annotated[Principal, Depends(get_stream_viewer)]
