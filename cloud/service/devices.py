"""Registering a device: its row, its token (stored hashed) and its Mosquitto credentials."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from cloud.service.auth import Role, issue_token
from cloud.service.db.tables import Device
from cloud.service.mosquitto import device_acl, password_line
from cloud.service.schemas import DevicePublic, DeviceRegistered, MqttCredentials
from shared.topics import check_id


class DeviceExists(RuntimeError):
    """A device with this id is registered already."""


class DeviceNotFound(LookupError):
    """No device has this id."""


@dataclass(frozen=True)
class NewDevice:
    device_id: str
    site: str
    name: str = ""


def register_device(
    session: Session, new: NewDevice, root: str, cloud_url: str, now: datetime
) -> DeviceRegistered:
    """Add the device and issue its token; the caller commits. The token is shown only here.
    `root`: the MQTT topic root; `cloud_url`: the service's public URL, for the device."""
    check_id(new.device_id, "device"), check_id(new.site, "site")
    if session.get(Device, new.device_id) is not None:
        raise DeviceExists(f"device {new.device_id!r} is registered already")
    device = Device(
        id=new.device_id, site=new.site, name=new.name, created_at=now, status="unknown"
    )
    session.add(device)
    session.flush()
    token, _row = issue_token(session, Role.DEVICE, f"device:{new.device_id}", now, new.device_id)
    credentials = MqttCredentials(
        username=new.device_id,
        password_file_line=password_line(new.device_id, token),
        acl_lines=device_acl(new.site, new.device_id, root),
    )
    return DeviceRegistered(
        device=DevicePublic.model_validate(device),
        token=token,
        mqtt=credentials,
        cloud_url=cloud_url,
        topic_root=root,
    )


def get_device(session: Session, device_id: str) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise DeviceNotFound(f"no device {device_id!r}")
    return device
