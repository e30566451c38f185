"""The tables (SQLAlchemy 2 declarative); migrations in `cloud/service/migrations` create them.

One class per table. API schemas (what clients send and get back) live in
`cloud/service/schemas.py`; the messages devices send are the `shared.messages` models.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cloud.service.db.types import BigId, UtcDateTime

# Named constraints, so that later migrations can refer to them on both databases.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON, list[str]: JSON}


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="unknown")
    last_seen_at: Mapped[datetime | None]
    last_heartbeat_at: Mapped[datetime | None]
    model_version: Mapped[str | None] = mapped_column(String(64))
    last_heartbeat: Mapped[dict[str, Any] | None]
    # The learning phase: its window fall scores over every agent run (calibration.py).
    score_history: Mapped[dict[str, Any] | None]


class ApiToken(Base):
    """A viewer or device bearer token, stored only as its sha256 (see `auth.hash_token`)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_site_started_at", "site", "started_at"),
        Index("ix_events_device_id_seq", "device_id", "seq"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    site: Mapped[str] = mapped_column(String(64))
    camera: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    model_version: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigId)
    received_at: Mapped[datetime] = mapped_column(index=True)
    stage: Mapped[str | None] = mapped_column(String(16))  # a two-stage fall's (FallStage)
    stage_at: Mapped[datetime | None]


class Alert(Base):
    """What a person must acknowledge: a critical episode the edge reported (all its
    start/update/end events), or a room gone dark (`device_offline`, `camera_fault`)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    episode_key: Mapped[str] = mapped_column(String(300), unique=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    site: Mapped[str] = mapped_column(String(64), index=True)
    camera: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))  # a fall label, or device_offline, ...
    severity: Mapped[str] = mapped_column(String(16), server_default="critical")
    confidence: Mapped[float] = mapped_column(Float)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    opened_at: Mapped[datetime] = mapped_column(index=True)
    first_event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    ack_note: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None]  # nobody answered in time: louder, everywhere
    escalation_attempted_at: Mapped[datetime | None]  # the webhook's last try
    notified_at: Mapped[datetime | None]  # the webhook took the escalation
    oncall_attempted_at: Mapped[datetime | None]  # stage 3: the on-call channel's last try
    oncall_at: Mapped[datetime | None]  # the on-call channel took it
    # A two-stage fall (shared.messages.FallStage): possible, confirmed or recovered, as the
    # edge decided; None for an alert of one stage (older agents, long lies, dark rooms).
    stage: Mapped[str | None] = mapped_column(String(16))
    confirmed_at: Mapped[datetime | None]  # when the edge confirmed the fall (video time)
    outcome: Mapped[str | None] = mapped_column(String(16))  # what happened (outcomes.py)


class AlertEscalation(Base):
    """One step of an overdue alert's escalation on one channel, with how it went:
    `dashboard` (every signed-in screen shows it escalated and rings louder), `webhook`, or
    `oncall` (stage 3: the on-call contact)."""

    __tablename__ = "alert_escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(16), server_default="webhook")
    url: Mapped[str | None] = mapped_column(String(2048))
    attempts: Mapped[int] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)


class Clip(Base):
    __tablename__ = "clips"
    __table_args__ = (Index("ix_clips_label_entropy", "label", "entropy"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    site: Mapped[str] = mapped_column(String(64), index=True)
    camera: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    model_version: Mapped[str] = mapped_column(String(64))
    predicted: Mapped[str] = mapped_column(String(64))
    probabilities: Mapped[dict[str, Any]]
    entropy: Mapped[float] = mapped_column(Float)
    margin: Mapped[float] = mapped_column(Float)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    fps: Mapped[float] = mapped_column(Float)
    frames: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigId)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_name: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime]
    label: Mapped[str | None] = mapped_column(String(64))
    labelled_by: Mapped[str | None] = mapped_column(String(200))
    labelled_at: Mapped[datetime | None]


class ClipLabel(Base):
    """Every label given to a clip (the clip row keeps the latest)."""

    __tablename__ = "clip_labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clip_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clips.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(64))
    labelled_by: Mapped[str] = mapped_column(String(200))
    labelled_at: Mapped[datetime]


class TrainingJob(Base):
    __tablename__ = "training_jobs"
    __table_args__ = (Index("ix_training_jobs_status_created_at", "status", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    worker_id: Mapped[str | None] = mapped_column(String(200))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    progress: Mapped[dict[str, Any]]
    error: Mapped[str | None] = mapped_column(Text)
    model_version: Mapped[str | None] = mapped_column(String(64))
    promotion: Mapped[dict[str, Any] | None]


class ModelVersion(Base):
    __tablename__ = "model_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime]
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    artifact_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(512))
    size_bytes: Mapped[int] = mapped_column(BigId)
    labels: Mapped[list[str]]
    metrics: Mapped[dict[str, Any]]
    promoted_at: Mapped[datetime | None]


class Promotion(Base):
    """Each time a version became production: the history that roll-back walks."""

    __tablename__ = "promotions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(ForeignKey("model_versions.version"), index=True)
    previous_version: Mapped[str | None] = mapped_column(String(64))
    promoted_at: Mapped[datetime]
    promoted_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)


class Calibration(Base):
    """A room's fall threshold set from its own history (calibration.py), and the
    command that pushed it."""

    __tablename__ = "calibrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(200))
    threshold: Mapped[float] = mapped_column(Float)
    previous: Mapped[float | None] = mapped_column(Float)
    budget_per_week: Mapped[float] = mapped_column(Float)
    expected_per_week: Mapped[float] = mapped_column(Float)
    reachable: Mapped[bool] = mapped_column(Boolean)
    windows: Mapped[int] = mapped_column(BigId)
    observed_s: Mapped[float] = mapped_column(Float)
    command_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class HeartbeatRecord(Base):
    """Heartbeat history for the dashboard's charts."""

    __tablename__ = "heartbeats"
    __table_args__ = (Index("ix_heartbeats_device_id_sent_at", "device_id", "sent_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    sent_at: Mapped[datetime]
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]]


class DeviceCommand(Base):
    """A Command sent to a device, and its CommandAck once it arrives."""

    __tablename__ = "device_commands"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]]
    issued_at: Mapped[datetime]
    issued_by: Mapped[str] = mapped_column(String(200))
    acked_at: Mapped[datetime | None]
    ok: Mapped[bool | None] = mapped_column(Boolean)
    detail: Mapped[str | None] = mapped_column(Text)
