"""The model registry: versions, artifacts for devices, the public key, promotion."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import FileResponse, PlainTextResponse
from sqlalchemy import select

from cloud.service.api.deps import (
    CurrentAdmin,
    CurrentPrincipal,
    CurrentViewer,
    ServicesDep,
    SessionDep,
)
from cloud.service.auth import Role
from cloud.service.db.tables import ModelVersion
from cloud.service.mqtt import PublishError
from cloud.service.registry import ModelNotFound, NothingToRollBack
from cloud.service.schemas import (
    ModelVersionPublic,
    PromoteRequest,
    PromotionPublic,
    PromotionResult,
)
from cloud.service.services import Services
from shared.messages import Id, ModelAnnouncement, Version

router = APIRouter(prefix="/models", tags=["models"])


@router.get("")
def list_models(session: SessionDep, _: CurrentViewer) -> list[ModelVersionPublic]:
    """Every model version, newest first."""
    rows = session.scalars(select(ModelVersion).order_by(ModelVersion.created_at.desc()))
    return [ModelVersionPublic.model_validate(row) for row in rows]


@router.get("/public-key", response_class=PlainTextResponse)
def read_public_key(services: ServicesDep) -> str:
    """The Ed25519 public key (PEM) that verifies every artifact's signature."""
    return services.signer.public_key_pem()


@router.get("/current")
def read_current_model(
    site: Annotated[Id, Query(description="the site asking")],
    session: SessionDep,
    services: ServicesDep,
    principal: CurrentPrincipal,
) -> ModelAnnouncement:
    """The site's production model as a ModelAnnouncement (404 when there is none)."""
    if principal.role is Role.DEVICE and principal.site != site:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a device asks only for its own site")
    row = services.registry.production(session)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no production model yet")
    return services.registry.announcement(row, site)


@router.get("/history")
def list_promotions(
    session: SessionDep, services: ServicesDep, _: CurrentViewer
) -> list[PromotionPublic]:
    """Promotions and roll-backs, newest first."""
    return [PromotionPublic.model_validate(p) for p in services.registry.history(session)]


@router.post("/rollback")
def roll_back(session: SessionDep, services: ServicesDep, admin: CurrentAdmin) -> PromotionResult:
    """Return to the production model before the current one, and announce it."""
    try:
        row = services.registry.rollback(session, admin.name)
    except NothingToRollBack as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    session.commit()
    return announce(services, row)


@router.get("/{version}")
def read_model(
    version: Version, session: SessionDep, services: ServicesDep, _: CurrentViewer
) -> ModelVersionPublic:
    """One model version with its metrics."""
    try:
        return ModelVersionPublic.model_validate(services.registry.get(session, version))
    except ModelNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None


@router.get("/{version}/artifact", response_class=FileResponse)
def read_artifact(
    version: Version, session: SessionDep, services: ServicesDep, _: CurrentPrincipal
) -> FileResponse:
    """The ONNX file; `X-Vigil-Sha256` and `X-Vigil-Signature` let the device verify it."""
    try:
        row = services.registry.get(session, version)
    except ModelNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return FileResponse(
        services.registry.artifact_path(row),
        media_type="application/octet-stream",
        filename=f"{row.version}.onnx",
        headers={"X-Vigil-Sha256": row.sha256, "X-Vigil-Signature": row.signature},
    )


@router.post("/{version}/promote")
def promote_model(
    version: Version,
    body: PromoteRequest,
    session: SessionDep,
    services: ServicesDep,
    admin: CurrentAdmin,
) -> PromotionResult:
    """Make a version production and announce it to every site's devices."""
    try:
        row = services.registry.promote(session, version, admin.name, body.reason)
    except ModelNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    session.commit()
    return announce(services, row)


def announce(services: Services, row: ModelVersion) -> PromotionResult:
    """Announce a committed promotion; a broker failure is reported, not hidden."""
    model = ModelVersionPublic.model_validate(row)
    try:
        return PromotionResult(model=model, announced_sites=services.announcer.announce(row))
    except PublishError as exc:
        return PromotionResult(model=model, announced_sites=None, announce_error=str(exc))
