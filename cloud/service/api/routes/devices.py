"""Devices: register (admin), list and status (viewer), heartbeats (the device itself)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import select

from cloud.service.api.deps import (
    CurrentAdmin,
    CurrentViewer,
    IngestingDevice,
    ServicesDep,
    SessionDep,
    invalid_input,
)
from cloud.service.commands import send_command
from cloud.service.db.tables import Device, DeviceCommand, HeartbeatRecord
from cloud.service.devices import (
    DeviceExists,
    DeviceNotFound,
    NewDevice,
    get_device,
    register_device,
)
from cloud.service.ingest import Rejected, check_identity
from cloud.service.mqtt import PublishError
from cloud.service.schemas import (
    CommandCreate,
    CommandPublic,
    DeviceCreate,
    DevicePublic,
    DeviceRegistered,
    HeartbeatPublic,
)
from shared.messages import Heartbeat, Id, UtcDatetime, utc_now

router = APIRouter(prefix="/devices", tags=["devices"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_device(
    body: DeviceCreate, session: SessionDep, services: ServicesDep, _: CurrentAdmin
) -> DeviceRegistered:
    """Register a device: returns its token (shown once) and its Mosquitto lines."""
    try:
        registered = register_device(
            session,
            NewDevice(body.device_id, body.site, body.name),
            services.settings.mqtt_topic_root,
            services.settings.public_base_url,
            utc_now(),
        )
    except DeviceExists as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    session.commit()
    services.announcer.announce_production([body.site])
    return registered


@router.get("")
def list_devices(
    session: SessionDep, _: CurrentViewer, site: Id | None = None
) -> list[DevicePublic]:
    """Every device with its status and last heartbeat."""
    query = select(Device).order_by(Device.site, Device.id)
    if site is not None:
        query = query.where(Device.site == site)
    return [DevicePublic.model_validate(d) for d in session.scalars(query)]


@router.get("/{device_id}")
def read_device(device_id: Id, session: SessionDep, _: CurrentViewer) -> DevicePublic:
    """One device's status."""
    try:
        return DevicePublic.model_validate(get_device(session, device_id))
    except DeviceNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None


@router.post("/{device_id}/heartbeat", status_code=status.HTTP_204_NO_CONTENT)
def post_heartbeat(
    device_id: Id, heartbeat: Heartbeat, device: IngestingDevice, services: ServicesDep
) -> None:
    """A device reports its health (HTTP fallback for its MQTT status topic)."""
    try:
        if device.device_id != device_id:
            raise Rejected("identity", f"device {device.device_id} posted as {device_id}")
        check_identity(heartbeat, device.site, device_id)
        services.ingestor.record_heartbeat(heartbeat, "http")
    except Rejected as exc:
        services.metrics.rejects.inc(source="http", reason=exc.reason)
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None


@router.get("/{device_id}/heartbeats")
def list_heartbeats(
    device_id: Id,
    session: SessionDep,
    _: CurrentViewer,
    since: Annotated[UtcDatetime | None, Query(description="with a time zone")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[HeartbeatPublic]:
    """Heartbeat history, newest first, for the dashboard's charts."""
    query = select(HeartbeatRecord).where(HeartbeatRecord.device_id == device_id)
    if since is not None:
        query = query.where(HeartbeatRecord.sent_at >= since)
    query = query.order_by(HeartbeatRecord.sent_at.desc()).limit(limit)
    return [HeartbeatPublic.model_validate(h) for h in session.scalars(query)]


@router.get("/{device_id}/commands")
def list_commands(
    device_id: Id,
    session: SessionDep,
    _: CurrentViewer,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[CommandPublic]:
    """Commands sent to the device, newest first, with their acknowledgements."""
    query = (
        select(DeviceCommand)
        .where(DeviceCommand.device_id == device_id)
        .order_by(DeviceCommand.issued_at.desc())
        .limit(limit)
    )
    return [CommandPublic.model_validate(c) for c in session.scalars(query)]


@router.post("/{device_id}/commands", status_code=status.HTTP_202_ACCEPTED)
def send_device_command(
    device_id: Id,
    body: CommandCreate,
    session: SessionDep,
    services: ServicesDep,
    admin: CurrentAdmin,
) -> CommandPublic:
    """Send a Command on the device's `cmd` topic; its CommandAck is recorded when it comes."""
    if services.publisher is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no MQTT broker configured")
    try:
        device = get_device(session, device_id)
        row = send_command(
            session, services.publisher, services.settings.mqtt_topic_root, device, body.kind,
            admin.name, thresholds=body.thresholds, model_version=body.model_version,
        )  # fmt: skip
    except DeviceNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except ValueError as exc:
        raise invalid_input(("body",), str(exc)) from None
    except PublishError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from None
    return CommandPublic.model_validate(row)
