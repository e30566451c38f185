"""Every message round-trips through JSON and refuses what a device must never send."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from shared.messages import (
    ActionEvent,
    ClipMeta,
    Command,
    CommandAck,
    Heartbeat,
    ModelAnnouncement,
    offline_heartbeat,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def event_payload(**overrides: object) -> dict:
    payload = {
        "event_id": str(uuid.uuid4()),
        "device_id": "room-12",
        "site": "oak_house",
        "camera": "cam0",
        "type": "start",
        "action": "falling",
        "severity": "critical",
        "confidence": 0.93,
        "started_at": NOW.isoformat(),
        "ended_at": None,
        "model_version": "s-20261127.1",
        "seq": 7,
    }
    payload.update(overrides)
    return payload


VALID = {
    ActionEvent: event_payload(),
    Heartbeat: {
        "device_id": "room-12",
        "site": "oak_house",
        "status": "online",
        "sent_at": NOW.isoformat(),
        "fps_in": 15.0,
        "latency_ms_p95": 2.5,
        "outbox_depth": 3,
        "model_version": "v1",
    },
    Command: {
        "command_id": str(uuid.uuid4()),
        "device_id": "room-12",
        "site": "oak_house",
        "kind": "set_thresholds",
        "thresholds": {"enter": 0.7, "exit": 0.5},
        "issued_at": NOW.isoformat(),
    },
    CommandAck: {
        "command_id": str(uuid.uuid4()),
        "device_id": "room-12",
        "site": "oak_house",
        "ok": True,
        "acked_at": NOW.isoformat(),
    },
    ModelAnnouncement: {
        "site": "oak_house",
        "version": "v2",
        "url": "http://cloud:8000/api/v1/models/v2/artifact",
        "sha256": "a" * 64,
        "signature": "c2lnbmF0dXJl",
        "size_bytes": 123456,
        "labels": ["walking", "falling"],
        "announced_at": NOW.isoformat(),
    },
    ClipMeta: {
        "clip_id": str(uuid.uuid4()),
        "device_id": "room-12",
        "site": "oak_house",
        "started_at": NOW.isoformat(),
        "ended_at": (NOW + timedelta(seconds=4)).isoformat(),
        "model_version": "v1",
        "predicted": "bending",
        "probabilities": {"bending": 0.41, "sitting_down": 0.38, "walking": 0.21},
        "entropy": 1.05,
        "margin": 0.03,
        "width": 32,
        "height": 32,
        "fps": 15.0,
        "frames": 60,
    },
}


@pytest.mark.parametrize("model", list(VALID), ids=lambda m: m.__name__)
def test_round_trip_through_json(model: type) -> None:
    message = model.model_validate_json(json.dumps(VALID[model]))
    again = model.model_validate_json(message.model_dump_json())
    assert again == message


@pytest.mark.parametrize("model", list(VALID), ids=lambda m: m.__name__)
def test_missing_required_field_is_refused(model: type) -> None:
    required = [n for n, f in model.model_fields.items() if f.is_required()]
    for name in required:
        payload = {k: v for k, v in VALID[model].items() if k != name}
        with pytest.raises(ValidationError, match=name):
            model.model_validate_json(json.dumps(payload))


@pytest.mark.parametrize("model", list(VALID), ids=lambda m: m.__name__)
def test_unknown_field_is_refused(model: type) -> None:
    with pytest.raises(ValidationError, match="extra"):
        model.model_validate_json(json.dumps({**VALID[model], "surprise": 1}))


@pytest.mark.parametrize(
    "field,value",
    [
        ("confidence", "0.9"),  # a string is not a number
        ("confidence", 1.5),  # above 1
        ("confidence", float("nan")),
        ("seq", -1),
        ("seq", 1.5),
        ("type", "begin"),  # bad enum
        ("severity", "urgent"),
        ("device_id", "room+12"),  # MQTT wildcard
        ("device_id", "room#"),
        ("site", "oak/house"),  # topic separator
        ("device_id", "x" * 65),  # oversize id
        ("camera", "c" * 65),  # oversize string
        ("action", "Falling!"),
        ("event_id", "not-a-uuid"),
        ("started_at", "2026-11-27T12:00:00"),  # naive timestamp
        ("ended_at", (NOW - timedelta(seconds=1)).isoformat()),  # before start
    ],
)
def test_action_event_rejects(field: str, value: object) -> None:
    payload = json.dumps(event_payload(**{field: value}), allow_nan=True)
    with pytest.raises(ValidationError):
        ActionEvent.model_validate_json(payload)


def test_timestamps_are_normalised_to_utc() -> None:
    paris = timezone(timedelta(hours=1))
    event = ActionEvent.model_validate_json(
        json.dumps(
            event_payload(started_at=datetime(2026, 11, 27, 13, 0, tzinfo=paris).isoformat())
        )
    )
    assert event.started_at == NOW
    assert event.started_at.utcoffset() == timedelta(0)


def test_end_event_needs_its_end_time() -> None:
    with pytest.raises(ValidationError, match="ended_at"):
        ActionEvent.model_validate_json(json.dumps(event_payload(type="end")))


def test_a_fall_stage_comes_with_its_time_and_its_severity() -> None:
    later = (NOW + timedelta(seconds=2)).isoformat()
    possible = event_payload(severity="warning", stage="possible", stage_at=NOW.isoformat())
    assert ActionEvent.model_validate_json(json.dumps(possible)).stage == "possible"
    confirmed = event_payload(type="update", stage="confirmed", stage_at=later)
    assert ActionEvent.model_validate_json(json.dumps(confirmed)).stage_at == NOW + timedelta(
        seconds=2
    )
    # An event of an agent older than the two stages carries neither field: one stage.
    assert ActionEvent.model_validate_json(json.dumps(event_payload())).stage is None
    refused = {
        "a stage needs stage_at": event_payload(stage="confirmed"),
        "stage_at without a stage": event_payload(stage_at=later),
        "stage_at is before started_at": event_payload(
            stage="confirmed", stage_at=(NOW - timedelta(seconds=1)).isoformat()
        ),
        "a possible fall is warning, not critical": event_payload(
            stage="possible", stage_at=later
        ),
        "a confirmed fall is critical, not warning": event_payload(
            severity="warning", stage="confirmed", stage_at=later
        ),
        "only an end event is recovered": event_payload(
            severity="warning", stage="recovered", stage_at=later
        ),
        "Input should be 'possible', 'confirmed' or 'recovered'": event_payload(
            stage="maybe", stage_at=later
        ),
    }
    for message, payload in refused.items():
        with pytest.raises(ValidationError, match=message):
            ActionEvent.model_validate_json(json.dumps(payload))


def test_command_payload_must_match_its_kind() -> None:
    bad = {**VALID[Command], "kind": "switch_model"}
    with pytest.raises(ValidationError, match="model_version"):
        Command.model_validate_json(json.dumps(bad))


def test_thresholds_keep_hysteresis() -> None:
    bad = {**VALID[Command], "thresholds": {"enter": 0.4, "exit": 0.6}}
    with pytest.raises(ValidationError, match="exit"):
        Command.model_validate_json(json.dumps(bad))


def test_announcement_refuses_bad_digest_and_oversize_url() -> None:
    with pytest.raises(ValidationError, match="sha256"):
        ModelAnnouncement.model_validate_json(
            json.dumps({**VALID[ModelAnnouncement], "sha256": "xyz"})
        )
    with pytest.raises(ValidationError, match="url"):
        ModelAnnouncement.model_validate_json(
            json.dumps({**VALID[ModelAnnouncement], "url": "http://" + "a" * 3000})
        )


def test_clip_meta_rejects_probabilities_out_of_range() -> None:
    bad = {**VALID[ClipMeta], "probabilities": {"bending": 1.2}}
    with pytest.raises(ValidationError, match="probabilities"):
        ClipMeta.model_validate_json(json.dumps(bad))


def test_offline_heartbeat_is_a_valid_last_will() -> None:
    will = offline_heartbeat("oak_house", "room-12")
    parsed = Heartbeat.model_validate_json(will.model_dump_json())
    assert parsed.status == "offline"
    assert parsed.device_id == "room-12"
