"""What the API takes and returns, one schema per direction (the template's models.py).

Devices send the `shared.messages` models themselves (ActionEvent, Heartbeat, ClipMeta);
the table classes are in `db/models.py`; the `...Public` schemas here are what the API
returns, read from table rows.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from cloud.training.job_spec import SyntheticDataset
from cloud.training.params import TRAINING_FIELDS, TrainingParams
from shared.messages import NO_NUL, ActionEvent, CommandKind, Id, Label, Thresholds

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
Note = Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL)]
MAX_BATCH = 1000


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- devices and tokens ------------------------------------------------------------------


class DeviceCreate(Request):
    device_id: Id = Field(description="unique device id; also its MQTT user name")
    site: Id = Field(description="the care home the device belongs to")
    name: Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)] = ""


class DevicePublic(Public):
    id: str
    site: str
    name: str
    created_at: datetime
    status: str
    last_seen_at: datetime | None
    last_heartbeat_at: datetime | None
    model_version: str | None
    last_heartbeat: dict[str, Any] | None


class MqttCredentials(BaseModel):
    username: str
    password_file_line: str = Field(description="for Mosquitto's password_file")
    acl_lines: list[str] = Field(description="for Mosquitto's acl_file")


class DeviceRegistered(BaseModel):
    device: DevicePublic
    token: str = Field(description="the device's bearer token and MQTT password; shown once")
    mqtt: MqttCredentials
    cloud_url: str = Field(description="the service's public URL: the device's VIGIL_CLOUD_URL")
    topic_root: str = Field(description="the MQTT topic root: VIGIL_MQTT__TOPIC_ROOT")


class HeartbeatPublic(Public):
    sent_at: datetime
    received_at: datetime
    status: str
    payload: dict[str, Any]


class CommandCreate(Request):
    kind: CommandKind
    model_version: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._+-]{1,64}$")] | None = (
        None
    )
    thresholds: Thresholds | None = None

    @model_validator(mode="after")
    def _payload_matches_kind(self) -> CommandCreate:
        """The rule `shared.messages.Command` enforces, checked here so it is a plain 422."""
        if self.kind is CommandKind.SWITCH_MODEL and self.model_version is None:
            raise ValueError("switch_model needs model_version")
        if self.kind is CommandKind.SET_THRESHOLDS and self.thresholds is None:
            raise ValueError("set_thresholds needs thresholds")
        return self


class CommandPublic(Public):
    id: uuid.UUID
    device_id: str
    kind: str
    payload: dict[str, Any]
    issued_at: datetime
    issued_by: str
    acked_at: datetime | None
    ok: bool | None
    detail: str | None


class TokenCreate(Request):
    name: Name = Field(description="who holds it (shown as 'who' on acknowledgements)")


class TokenPublic(Public):
    id: int
    name: str
    role: str
    device_id: str | None
    created_at: datetime
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    token: str = Field(description="the bearer token; shown once, stored only as a hash")


# -- events and alerts -------------------------------------------------------------------


class EventBatch(Request):
    events: Annotated[list[ActionEvent], Field(min_length=1, max_length=MAX_BATCH)]


class IngestReceipt(BaseModel):
    accepted: int
    duplicates: int


class EventPublic(ActionEvent):
    """An event as the API returns it: what the device sent, its row id, when it arrived."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    received_at: datetime


class Outcome(StrEnum):
    """The answer to "What happened?" when an alert is acknowledged (outcomes.py)."""

    REAL_FALL = "real_fall"
    GOT_UP_UNAIDED = "got_up_unaided"
    NOT_A_FALL = "not_a_fall"
    STAFF_IN_ROOM = "staff_in_room"
    OTHER = "other"


class AlertPublic(Public):
    id: int
    device_id: str
    site: str
    camera: str
    action: str = Field(description="a fall label, long_lie, device_offline or camera_fault")
    severity: Literal["critical", "warning"] = Field(
        description="critical: a person may be hurt (the alarm); warning: a possible fall "
        "not confirmed yet, or a room gone dark"
    )
    stage: Literal["possible", "confirmed", "recovered"] | None = Field(
        None,
        description="a two-stage fall: possible (the edge watches whether the person stays "
        "down), confirmed (the alarm) or recovered (got up; closed by itself); None for an "
        "alert of one stage",
    )
    confirmed_at: datetime | None = Field(None, description="when the edge confirmed the fall")
    outcome: Outcome | None = Field(None, description="what happened, as acknowledged")
    confidence: float
    started_at: datetime
    ended_at: datetime | None
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    ack_note: str | None
    escalated_at: datetime | None = Field(
        description="when the alert escalated (nobody acknowledged it in time): every "
        "dashboard shows it escalated and rings louder; None until then"
    )
    notified_at: datetime | None = Field(
        None, description="when the webhook took the escalation; None without one"
    )
    oncall_at: datetime | None = Field(
        None, description="stage 3: when the on-call contact took the alert; None until then"
    )


class AlertAcknowledge(Request):
    note: Note | None = None
    outcome: Outcome | None = Field(
        None,
        description="what happened: real_fall, got_up_unaided, not_a_fall, staff_in_room or "
        "other; real_fall and not_a_fall label the fall's clip for the next training job",
    )


class EscalationPublic(Public):
    id: int
    alert_id: int
    attempted_at: datetime
    channel: Literal["dashboard", "webhook", "oncall"]
    url: str | None = Field(description="the webhook's URL; None for the dashboard")
    attempts: int
    ok: bool
    status_code: int | None
    error: str | None


class AlertDetail(AlertPublic):
    escalations: list[EscalationPublic] = Field(
        description="each escalation step, oldest first: when, on which channel, how it went"
    )


# -- clips -------------------------------------------------------------------------------


class ClipPublic(Public):
    id: uuid.UUID
    device_id: str
    site: str
    camera: str
    reason: str
    started_at: datetime
    ended_at: datetime
    model_version: str
    predicted: str
    probabilities: dict[str, float]
    entropy: float
    margin: float
    width: int
    height: int
    fps: float
    frames: int
    size_bytes: int
    sha256: str
    uploaded_at: datetime
    label: str | None
    labelled_by: str | None
    labelled_at: datetime | None


class ClipLabelCreate(Request):
    label: Label


# -- training jobs and models ------------------------------------------------------------


class FolderDataset(Request):
    """A video folder on the server, under one of VIGIL_DATASET_ROOTS."""

    kind: Literal["folder"] = "folder"
    path: Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=NO_NUL)]


class TrainingJobCreate(TrainingParams):
    """A retraining job: the training settings (`TrainingParams`), its data and promotion."""

    dataset: SyntheticDataset | FolderDataset = Field(discriminator="kind")
    include_labelled_clips: bool = Field(False, description="add the labelled clips to training")
    unlabeled_clips: bool = Field(
        False,
        description="distil also on the uploaded clips nobody has labelled yet (the site's own "
        "footage): the teacher labels them for a fourth model, student_kd_unlabeled",
    )
    promotion: Literal["never", "if_better", "always"] = Field(
        "if_better",
        description="promote the new student to production never, if it scores better than "
        "production on this job's test split, or always",
    )

    @field_validator("dataset", mode="before")
    @classmethod
    def _dataset_shorthand(cls, value: Any) -> Any:
        return {"kind": "synthetic"} if value == "synthetic" else value

    def training_params(self) -> TrainingParams:
        """The settings the run trains with: these fields less the job's own."""
        return TrainingParams.model_validate(self.model_dump(include=set(TRAINING_FIELDS)))


class TrainingJobPublic(Public):
    id: uuid.UUID
    status: str
    params: dict[str, Any]
    created_at: datetime
    created_by: str
    started_at: datetime | None
    finished_at: datetime | None
    worker_id: str | None
    cancel_requested: bool
    progress: dict[str, Any]
    error: str | None
    model_version: str | None
    promotion: dict[str, Any] | None


class ModelVersionPublic(Public):
    version: str
    status: str
    created_at: datetime
    job_id: uuid.UUID | None
    sha256: str
    signature: str
    size_bytes: int
    labels: list[str]
    metrics: dict[str, Any]
    promoted_at: datetime | None


class PromotionPublic(Public):
    id: int
    version: str
    previous_version: str | None
    promoted_at: datetime
    promoted_by: str
    reason: str


class PromoteRequest(Request):
    reason: Note = "promoted by hand"


class PromotionResult(BaseModel):
    model: ModelVersionPublic
    announced_sites: list[str] | None = Field(description="None: not announced over MQTT")
    announce_error: str | None = None


# -- sites: the learning phase -----------------------------------------------------------


class CalibrateRequest(Request):
    budget_per_week: float | None = Field(
        None,
        gt=0,
        le=1000,
        description="false alarms a room may raise a week (default: "
        "the service's alert_budget_per_week)",
    )
    min_hours: float | None = Field(
        None,
        ge=0,
        le=8760,
        description="hours of scored video a room needs first (default: "
        "the service's calibrate_min_hours)",
    )


class CalibrationPublic(Public):
    id: int
    device_id: str
    at: datetime
    by: str
    threshold: float = Field(description="the fall threshold set (Thresholds.fall_enter)")
    previous: float | None
    budget_per_week: float
    expected_per_week: float = Field(
        description="the upper bound on alarms a week at that threshold, from the history"
    )
    reachable: bool = Field(description="false: even the highest threshold exceeds the budget")
    windows: int
    observed_s: float
    command_id: uuid.UUID | None


class RoomLearning(BaseModel):
    device_id: str
    name: str
    threshold: float | None = Field(description="the fall threshold the device says it runs")
    learning_since: datetime | None
    observed_h: float = Field(description="hours of video whose fall scores were counted")
    windows: int
    false_alarms_7d: int = Field(description="alerts answered 'not a fall' in the last 7 days")
    calibration: CalibrationPublic | None


# -- reports -----------------------------------------------------------------------------


class RoomReportPublic(BaseModel):
    """One room over the period (cloud/service/reports.py says what each figure counts)."""

    device_id: str
    site: str
    room: str
    possible_falls: int = Field(description="two-stage falls (each starts possible)")
    got_up: int = Field(description="possible falls that recovered before the alarm")
    falls: int = Field(description="fall alarms: confirmed, or one-stage critical")
    long_lies: int
    real_falls: int = Field(description="answered 'real fall'")
    false_alarms: int = Field(description="answered 'not a fall'")
    unanswered: int = Field(description="alarms not acknowledged yet")
    ack_p50_s: float | None = Field(description="median time to acknowledge an alarm")
    ack_p90_s: float | None
    on_floor_median_s: float | None
    on_floor_max_s: float | None
