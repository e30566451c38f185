"""Commands to a device: recorded, then published on its `cmd` topic (QoS 1); its
CommandAck is recorded by the ingest when it comes."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from cloud.service.db.tables import Device, DeviceCommand
from cloud.service.mqtt import MqttPublisher
from shared.messages import Command, CommandKind, Thresholds, utc_now
from shared.topics import device_topic


def send_command(
    session: Session,
    publisher: MqttPublisher,
    topic_root: str,
    device: Device,
    kind: CommandKind,
    who: str,
    *,
    thresholds: Thresholds | None = None,
    model_version: str | None = None,
) -> DeviceCommand:
    """Record the command (committed first, so its ack always finds it), then publish it.
    Raises ValueError for a command that contradicts itself, PublishError when the broker
    does not take it (the row stays, unacknowledged)."""
    command = Command(
        command_id=uuid.uuid4(),
        device_id=device.id,
        site=device.site,
        kind=kind,
        model_version=model_version,
        thresholds=thresholds,
        issued_at=utc_now(),
    )
    row = DeviceCommand(
        id=command.command_id,
        device_id=device.id,
        kind=command.kind.value,
        payload=command.model_dump(mode="json"),
        issued_at=command.issued_at,
        issued_by=who,
    )
    session.add(row)
    session.commit()
    topic = device_topic(device.site, device.id, "cmd", topic_root)
    publisher.publish(topic, command.model_dump_json().encode())
    return row
