"""What the API takes and returns, one schema per direction (the template's models.py).

Devices send the `shared.messages` models themselves (ActionEvent, Heartbeat, ClipMeta);
the table classes are in `db/models.py`; the `...Public` schemas here are what the API
returns, read from table rows.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from shared.datasets.splits import parse_where
from shared.labels import DEFAULT_LABELS
from shared.messages import ActionEvent, CommandKind, Id, Label, Thresholds

# PostgreSQL text cannot hold NUL: refused here (422) rather than by the insert (500).
NO_NUL = r"^[^\x00]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
Note = Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL)]
MAX_BATCH = 1000
# The trainer seeds torch (64 bits) with seed * 1_000_003 + ...: a larger seed would be
# accepted here and fail the job later.
SEED_MAX = 2**32 - 1


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


class EventPublic(Public):
    id: int
    event_id: uuid.UUID
    device_id: str
    site: str
    camera: str
    type: str
    action: str
    severity: str
    confidence: float
    started_at: datetime
    ended_at: datetime | None
    model_version: str
    seq: int
    received_at: datetime


class AlertPublic(Public):
    id: int
    device_id: str
    site: str
    camera: str
    action: str
    confidence: float
    started_at: datetime
    ended_at: datetime | None
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    ack_note: str | None
    escalated_at: datetime | None


class AlertAcknowledge(Request):
    note: Note | None = None


class EscalationPublic(Public):
    id: int
    alert_id: int
    attempted_at: datetime
    url: str
    attempts: int
    ok: bool
    status_code: int | None
    error: str | None


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


class SyntheticDataset(Request):
    """The built-in synthetic scenes (`shared.synth`), deterministic by seed."""

    kind: Literal["synthetic"] = "synthetic"
    clips_per_class: int = Field(12, ge=2, le=200)
    size: int = Field(112, ge=32, le=320, description="frame side in pixels")
    seconds: float = Field(4.0, ge=1.0, le=30.0)
    fps: int = Field(15, ge=5, le=30)
    seed: int = Field(0, ge=0, le=SEED_MAX)
    site_seed: int | None = Field(
        None,
        ge=0,
        le=SEED_MAX,
        description="film every other clip in the room and camera of this scene seed "
        "(the room a scenario of that seed shows): the site's own footage",
    )
    site_share: float = Field(
        0.5, gt=0, le=1, description="the share of the clips filmed in the site's room"
    )
    labels: list[Label] | None = Field(
        None,
        min_length=2,
        max_length=len(DEFAULT_LABELS),
        description="the actions to film (default: all of them)",
    )

    @field_validator("labels")
    @classmethod
    def _known_actions(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        unknown = [label for label in value if label not in DEFAULT_LABELS]
        if unknown:
            raise ValueError(f"cannot synthesise {unknown}; known: {list(DEFAULT_LABELS)}")
        if len(set(value)) != len(value):
            raise ValueError("labels repeat")
        return value


class FolderDataset(Request):
    """A video folder on the server, under one of VIGIL_DATASET_ROOTS."""

    kind: Literal["folder"] = "folder"
    path: Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=NO_NUL)]


Where = Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)]


class TrainingJobCreate(Request):
    dataset: SyntheticDataset | FolderDataset = Field(discriminator="kind")
    include_labelled_clips: bool = Field(False, description="add the labelled clips to training")
    unlabeled_clips: bool = Field(
        False,
        description="distil also on the uploaded clips nobody has labelled yet (the site's own "
        "footage): the teacher labels them for a fourth model, student_kd_unlabeled",
    )
    teacher: Literal["cnn3d", "pose"] = Field(
        "cnn3d",
        description="cnn3d: a 3D CNN trained from scratch on the frames; pose: MediaPipe's "
        "pretrained pose model and a skeleton classifier (far stronger on real footage)",
    )
    epochs: int = Field(30, ge=1, le=500)
    teacher_epochs: int | None = Field(None, ge=1, le=500)
    temperature: float = Field(4.0, gt=0, le=50, description="KD temperature T")
    lam: float = Field(0.1, ge=0, le=1, description="weight of the hard-label loss")
    sweep: bool = Field(False, description="try several (T, lam) and keep the best")
    test_where: Where | None = None
    val_where: Where | None = None
    seed: int = Field(0, ge=0, le=SEED_MAX)
    teacher_size: int = Field(112, ge=32, le=224)
    student_size: int = Field(32, ge=16, le=112)
    student_crop: Literal["none", "motion"] = Field(
        "none",
        description="motion (experimental): the student sees a box around what moves, cut "
        "before downsampling (devices cut the same box; the model's metadata says so); it "
        "lowered fall AUC on the benchmark sets (docs/BENCHMARKS.md)",
    )
    patience: int = Field(
        8, ge=1, le=500, description="stop after this many epochs without a better val macro-F1"
    )
    augment_draws: int = Field(
        2,
        ge=1,
        le=32,
        description="augmented copies of each training window (epoch e trains on copy e mod N); "
        "more copies keep a student trained on few clips from learning them by heart",
    )
    hop_s: float = Field(
        0.5,
        ge=0.05,
        le=10,
        description="seconds between training windows; denser windows show the student more "
        "phases of each motion (the edge runs a window every 0.5 s wherever the motion falls)",
    )
    time_jitter_s: float = Field(
        0.0,
        ge=0,
        le=5,
        description="each augmentation draw moves its window by up to this many seconds either "
        "way, so the student sees motions at every phase (half of hop_s covers it)",
    )
    promotion: Literal["never", "if_better", "always"] = "if_better"

    @field_validator("dataset", mode="before")
    @classmethod
    def _dataset_shorthand(cls, value: Any) -> Any:
        return {"kind": "synthetic"} if value == "synthetic" else value

    @field_validator("test_where", "val_where")
    @classmethod
    def _where(cls, value: str | None) -> str | None:
        if value is not None:
            parse_where(value)
        return value


class JobProgress(BaseModel):
    epoch: int | None = None
    model: str | None = None
    history: list[dict[str, Any]] = Field(default_factory=list)
    stage: str | None = None


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
