"""The messages that travel between edge and cloud, one typed model each.

Validation is strict where coercion would hide a bug (a confidence sent as a string,
a naive timestamp) and every model refuses unknown fields. Timestamps must carry a
time zone and are stored in UTC.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from shared.labels import LABEL_PATTERN, Severity
from shared.topics import ID_PATTERN


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp must carry a time zone (UTC expected)")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00+01:00 is a valid ISO time with no UTC equivalent; pydantic turns
        # only ValueError into a validation error, so an OverflowError would escape it.
        raise ValueError("timestamp is out of range in UTC") from None


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_detail(message: str) -> str:
    """Free text that fits a `Detail` field: NUL spelt out, at most 500 characters."""
    return message.replace("\x00", "\\x00")[:500]


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Label = Annotated[str, StringConstraints(pattern=LABEL_PATTERN)]
# No control characters in short names, no NUL in free text: PostgreSQL text cannot hold
# NUL, so one would pass validation and then fail the insert (a 500, a failed batch).
ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
]
NO_NUL = r"^[^\x00]*$"
MAX_FALL_SPAN = 16  # windows a fall decision may look back over (8 s at a 0.5 s hop)
Detail = Annotated[str, StringConstraints(max_length=500, pattern=NO_NUL)]
Version = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._+-]{1,64}$")]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Probability = Annotated[float, Field(ge=0.0, le=1.0, strict=True, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, strict=True, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=2**63 - 1, strict=True)]  # a BIGINT column holds it
WindowCount = Annotated[int, Field(ge=1, le=MAX_FALL_SPAN, strict=True)]
SCORE_BINS = 20  # a heartbeat's histogram of window fall scores: bins of 0.05 from 0 to 1


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class EventType(StrEnum):
    START = "start"
    UPDATE = "update"
    END = "end"


class FallStage(StrEnum):
    """Where a fall episode stands (edge/events.py decides; the cloud records it).

    `possible`: the fall rule fired; a warning while the edge watches whether the person
    stays down. `confirmed`: still down `events.confirm_s` later; the critical alarm.
    `recovered`: up again before that; the episode ends, nobody need come.
    """

    POSSIBLE = "possible"
    CONFIRMED = "confirmed"
    RECOVERED = "recovered"


STAGE_SEVERITY = {
    FallStage.POSSIBLE: Severity.WARNING,
    FallStage.CONFIRMED: Severity.CRITICAL,
    FallStage.RECOVERED: Severity.WARNING,
}


class ActionEvent(Message):
    """An action seen by a device: its start, updates while it lasts, and its end.

    A fall episode's events also carry its `stage` and when the edge decided it
    (`stage_at`); an event without them (an agent older than the two-stage alert, or any
    other action) is one stage: critical means the alarm at once.
    """

    event_id: uuid.UUID = Field(description="idempotency key: the cloud drops duplicates by it")
    device_id: Id
    site: Id
    camera: ShortText = "cam0"
    type: EventType
    action: Label
    severity: Severity
    confidence: Probability
    started_at: UtcDatetime
    ended_at: UtcDatetime | None = None
    model_version: Version
    seq: Count = Field(description="per-device sequence number, increasing")
    stage: FallStage | None = Field(
        None, description="a fall episode's stage: possible, confirmed or recovered"
    )
    stage_at: UtcDatetime | None = Field(
        None, description="when the edge decided the stage (video time); set with stage"
    )

    @model_validator(mode="after")
    def _ended_after_start(self) -> ActionEvent:
        if self.ended_at is not None and self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        if self.type is EventType.END and self.ended_at is None:
            raise ValueError("an end event needs ended_at")
        return self

    @model_validator(mode="after")
    def _stage_is_consistent(self) -> ActionEvent:
        if self.stage is None:
            if self.stage_at is not None:
                raise ValueError("stage_at without a stage")
            return self
        if self.stage_at is None:
            raise ValueError("a stage needs stage_at")
        if self.stage_at < self.started_at:
            raise ValueError("stage_at is before started_at")
        if self.severity is not STAGE_SEVERITY[self.stage]:
            expected = STAGE_SEVERITY[self.stage].value
            raise ValueError(f"a {self.stage.value} fall is {expected}, not {self.severity.value}")
        if self.stage is FallStage.RECOVERED and self.type is not EventType.END:
            raise ValueError("recovered ends an episode: only an end event is recovered")
        return self


class DeviceState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class Heartbeat(Message):
    """A device's health, retained on its status topic; the last will says `offline`."""

    device_id: Id
    site: Id
    status: DeviceState
    sent_at: UtcDatetime
    uptime_s: NonNegative = 0.0
    fps_in: NonNegative = 0.0
    fps_out: NonNegative = 0.0
    latency_ms_p50: NonNegative = 0.0
    latency_ms_p95: NonNegative = 0.0
    cpu_percent: NonNegative = 0.0
    memory_mb: NonNegative = 0.0
    outbox_depth: Count = 0
    dropped: Count = 0
    camera_ok: bool = True
    model_version: Version | None = None
    last_error: Detail | None = None
    thresholds: Thresholds | None = Field(None, description="the thresholds the device runs")
    fall_scores: (
        Annotated[list[Count], Field(min_length=SCORE_BINS, max_length=SCORE_BINS)] | None
    ) = Field(
        None,
        description="how many windows since fall_scores_since had their fall score (the "
        "fall and lying probabilities together) in each of 20 bins of 0.05; scores only, "
        "no video: the room's learning phase (cloud/service/calibration.py)",
    )
    fall_scores_since: UtcDatetime | None = Field(
        None, description="when the agent started counting fall_scores (its start)"
    )


class Thresholds(Message):
    """Decision thresholds an operator may change on a running device."""

    enter: Probability = Field(
        0.6,
        description="an activity starts once it leads the smoothed probabilities at or above "
        "this for events.min_start_s; after a fall, lying at or above it starts the long-lie "
        "clock",
    )
    exit: Probability = Field(
        0.4,
        description="an activity ends once its smoothed probability stays below this for "
        "events.min_end_s, a fall once its smoothed score does for events.fall_hold_s, a long "
        "lie as soon as lying drops below it; at most enter",
    )
    fall_enter: Probability = Field(
        0.5,
        description="a window whose raw (unsmoothed) probability of a fall label reaches this "
        "shows the fall motion; of the fall and lying labels together, the person down",
    )
    fall_windows: WindowCount = Field(
        2,
        description="a critical fall starts once this many of the last fall_span windows show "
        "the person down, one of them the fall motion (see fall_enter); 1 = one window alone",
    )
    fall_span: WindowCount = Field(
        2, description="the windows fall_windows counts among; at least fall_windows"
    )
    unsure_entropy: NonNegative = Field(
        1.2,
        description="a window whose probabilities have at least this entropy (nats) is unsure: "
        "a clip to upload, within the clips.* limits",
    )
    unsure_margin: Probability = Field(
        0.15,
        description="a window whose top two probabilities are at most this far apart is unsure: "
        "a clip to upload, within the clips.* limits",
    )

    @model_validator(mode="after")
    def _hysteresis(self) -> Thresholds:
        if self.exit > self.enter:
            raise ValueError("exit threshold must not exceed enter threshold")
        if self.fall_windows > self.fall_span:
            raise ValueError("fall_windows must not exceed fall_span")
        return self


class CommandKind(StrEnum):
    SWITCH_MODEL = "switch_model"
    SET_THRESHOLDS = "set_thresholds"


class Command(Message):
    """An instruction from the cloud to one device."""

    command_id: uuid.UUID
    device_id: Id
    site: Id
    kind: CommandKind
    model_version: Version | None = None
    thresholds: Thresholds | None = None
    issued_at: UtcDatetime

    @model_validator(mode="after")
    def _payload_matches_kind(self) -> Command:
        if self.kind is CommandKind.SWITCH_MODEL and self.model_version is None:
            raise ValueError("switch_model needs model_version")
        if self.kind is CommandKind.SET_THRESHOLDS and self.thresholds is None:
            raise ValueError("set_thresholds needs thresholds")
        return self


class CommandAck(Message):
    """A device's answer to a Command."""

    command_id: uuid.UUID
    device_id: Id
    site: Id
    ok: bool
    detail: Detail = ""
    acked_at: UtcDatetime


class ModelAnnouncement(Message):
    """The site's current production model (retained): where to fetch it, how to verify it."""

    site: Id
    version: Version
    url: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
    sha256: Sha256Hex
    signature: Annotated[str, StringConstraints(min_length=1, max_length=512)] = Field(
        description="base64 Ed25519 signature of the artifact's bytes"
    )
    size_bytes: Annotated[int, Field(gt=0, strict=True)]
    labels: Annotated[list[Label], Field(min_length=2, max_length=256)]
    announced_at: UtcDatetime


class ClipReason(StrEnum):
    UNSURE = "unsure"
    MANUAL = "manual"
    ALERT = "alert"  # a confirmed fall's clip: its outcome, once somebody answers, labels it


class ClipMeta(Message):
    """What a device says about an uploaded clip (the video travels beside it)."""

    clip_id: uuid.UUID
    device_id: Id
    site: Id
    camera: ShortText = "cam0"
    reason: ClipReason = ClipReason.UNSURE
    started_at: UtcDatetime
    ended_at: UtcDatetime
    model_version: Version
    predicted: Label
    probabilities: Annotated[dict[Label, Probability], Field(min_length=1, max_length=256)]
    entropy: NonNegative
    margin: Probability
    width: Annotated[int, Field(gt=0, le=4096, strict=True)]
    height: Annotated[int, Field(gt=0, le=4096, strict=True)]
    fps: Annotated[float, Field(gt=0, le=240, strict=True, allow_inf_nan=False)]
    frames: Annotated[int, Field(gt=0, le=100_000, strict=True)]

    @model_validator(mode="after")
    def _ended_after_start(self) -> ClipMeta:
        if self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        return self


def offline_heartbeat(site: str, device_id: str) -> Heartbeat:
    """The last-will payload a device registers when it connects."""
    return Heartbeat(device_id=device_id, site=site, status=DeviceState.OFFLINE, sent_at=utc_now())
