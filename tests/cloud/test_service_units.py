"""Pure parts of the service, tested with plain values."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from cloud.service.alerts import episode_key
from cloud.service.db.tables import ModelVersion
from cloud.service.ingest import Rejected, parse_device_message
from cloud.service.job_dataset import DatasetNotAllowed, resolve_folder
from cloud.service.metrics import Counter, Histogram
from cloud.service.mosquitto import device_acl, password_line, verify_password_line
from cloud.service.promotion import Scores, decide_promotion
from cloud.service.registry import json_safe
from cloud.service.schemas import TrainingJobCreate
from cloud.service.settings import Settings
from cloud.service.worker import fold_line, production_scores
from cloud.training.job import merge_manifest, pipeline_config
from cloud.training.job_spec import JobSpec, SyntheticDataset
from shared.messages import ActionEvent
from shared.motion_crop import MotionCropSpec

# Made by `mosquitto_passwd -b pw dev1 secret` (Mosquitto 2.0.11).
MOSQUITTO_LINE = (
    "dev1:$7$101$vXi9C8d3cEEvSF0O$zCdfaa3GDyUfLGJ84bv2qHqU8j+4mv4XFu05iSMvy6y76AVJnEsCVs3D2"
    "+oundFx1+Ho4+tWuBPzVuENLyG5Ww=="
)


def test_password_lines_match_mosquitto_passwd() -> None:
    assert verify_password_line(MOSQUITTO_LINE, "secret")
    assert not verify_password_line(MOSQUITTO_LINE, "Secret")
    salt = b"\xbdx\xbd\x0b\xc7wpA/H]\x0e"  # the salt of MOSQUITTO_LINE
    assert password_line("dev1", "secret", salt=salt) == MOSQUITTO_LINE
    assert verify_password_line(password_line("d2", "tok"), "tok")
    with pytest.raises(ValueError, match="cannot contain"):
        password_line("a:b", "x")


def test_a_device_acl_names_only_its_own_topics() -> None:
    lines = device_acl("rosehill", "room12", "vigil")
    assert lines[0] == "user room12"
    writes = [line.split()[-1] for line in lines if line.startswith("topic write")]
    assert writes == [f"vigil/rosehill/room12/{k}" for k in ("events", "status", "ack")]
    assert "topic read vigil/rosehill/model" in lines


@pytest.mark.parametrize(
    ("policy", "candidate", "production", "has_production", "promote"),
    [
        ("never", Scores(0.9, 1.0), None, False, False),
        ("always", Scores(0.1, 0.0), Scores(0.9, 1.0), True, True),
        ("if_better", Scores(0.5, 0.5), None, False, True),
        ("if_better", Scores(0.8, 0.9), Scores(0.7, 0.9), True, True),
        ("if_better", Scores(0.8, 0.8), Scores(0.7, 0.9), True, False),  # lost fall recall
        ("if_better", Scores(0.7, 1.0), Scores(0.7, 0.9), True, False),  # F1 not higher
        ("if_better", Scores(0.9, 1.0), None, True, False),  # production not comparable
    ],
)
def test_promotion_decisions(policy, candidate, production, has_production, promote) -> None:
    decision = decide_promotion(policy, candidate, production, has_production)
    assert decision.promote is promote and decision.reason


def event(**overrides: object) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "device_id": "d1",
        "site": "s1",
        "type": "start",
        "action": "falling",
        "severity": "critical",
        "confidence": 0.9,
        "started_at": "2026-01-01T00:00:00+00:00",
        "model_version": "m",
        "seq": 1,
        **overrides,
    }


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("vigil/s1/d1/events", b"{", "invalid"),
        ("vigil/s1/d1/events", json.dumps(event(confidence=2.0)).encode(), "invalid"),
        ("vigil/s1/d2/events", json.dumps(event()).encode(), "identity"),
        ("vigil/s2/d1/events", json.dumps(event()).encode(), "identity"),
        ("vigil/s1/d1/cmd", json.dumps(event()).encode(), "topic"),
        ("vigil/s1/events", json.dumps(event()).encode(), "topic"),
    ],
)
def test_refused_device_messages(topic: str, payload: bytes, reason: str) -> None:
    with pytest.raises(Rejected) as refused:
        parse_device_message(topic, payload)
    assert refused.value.reason == reason


def test_an_accepted_message_is_the_shared_model() -> None:
    message = parse_device_message("vigil/s1/d1/events", json.dumps(event()).encode())
    assert isinstance(message, ActionEvent) and message.started_at.tzinfo is not None


def test_updates_of_one_episode_share_its_alert_key() -> None:
    start = ActionEvent.model_validate(event())
    update = ActionEvent.model_validate(event(type="update", seq=2))
    other = ActionEvent.model_validate(event(started_at=datetime(2026, 1, 2, tzinfo=UTC)))
    assert episode_key(start) == episode_key(update) != episode_key(other)


def test_metrics_render_in_prometheus_text() -> None:
    counter = Counter("x_total", "things", ("kind",))
    counter.inc(kind='a"b')
    histogram = Histogram("y_seconds", "time", buckets=(0.1, 1))
    histogram.observe(0.5)
    text = "\n".join(counter.render() + histogram.render())
    assert 'x_total{kind="a\\"b"} 1' in text
    assert 'y_seconds_bucket{le="0.1"} 0' in text and 'y_seconds_bucket{le="1"} 1' in text
    assert 'y_seconds_bucket{le="+Inf"} 1' in text and "y_seconds_count 1" in text
    with pytest.raises(ValueError, match="takes labels"):
        counter.inc(other="x")


def test_json_safe_drops_non_finite_numbers() -> None:
    assert json_safe({"a": float("nan"), "b": [1.0, float("inf")], "c": "x"}) == {
        "a": None,
        "b": [1.0, None],
        "c": "x",
    }


@pytest.mark.parametrize("token", [None, "changethis", "short"])
def test_settings_refuse_missing_or_placeholder_secrets(
    token: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VIGIL_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("VIGIL_ENV", raising=False)
    with pytest.raises(ValidationError, match="VIGIL_ADMIN_TOKEN"):
        Settings(admin_token=token)


def test_development_generates_an_admin_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIGIL_ADMIN_TOKEN", raising=False)
    settings = Settings(env="development")
    assert settings.admin_token_generated and len(settings.admin_secret) >= 32
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    assert Settings(env="development").sqlalchemy_url == "postgresql+psycopg://u@h/db"


def test_dataset_folders_must_stay_under_an_allowed_root(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "ok").mkdir(parents=True)
    outside.mkdir()
    (root / "sneaky").symlink_to(outside)
    assert resolve_folder("ok", [root]) == (root / "ok").resolve()
    assert resolve_folder(str(root / "ok"), [root]) == (root / "ok").resolve()
    for bad in ("../outside", str(outside), "sneaky", "missing"):
        with pytest.raises(DatasetNotAllowed):
            resolve_folder(bad, [root])


def test_labelled_clips_join_the_source_manifest(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "manifest.csv").write_text("path,label,trial\nfall/a.mp4,falling,3\n")
    clips = tmp_path / "clips.csv"
    clips.write_text(
        "path,label,origin,clip_site,clip_device,clip_camera\n"
        "/data/jobs/x/dataset/walking/c.mp4,walking,clip,s,d,cam0\n"
    )
    manifest = merge_manifest(source, clips, tmp_path / "out")
    with manifest.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["path"] for r in rows] == [
        str(source / "fall/a.mp4"),
        "/data/jobs/x/dataset/walking/c.mp4",
    ]
    assert [(r["trial"], r["origin"]) for r in rows] == [("3", "dataset"), ("", "clip")]


def synthetic_spec(params: TrainingJobCreate, job_dir: Path, **paths: Path) -> JobSpec:
    assert isinstance(params.dataset, SyntheticDataset)
    spec = JobSpec(
        params=params.training_params(), job_dir=job_dir, synthetic=params.dataset, **paths
    )
    return JobSpec.model_validate_json(spec.model_dump_json())  # as the subprocess reads it


def test_a_job_hands_its_teacher_and_unlabelled_clips_to_the_pipeline(tmp_path: Path) -> None:
    params = TrainingJobCreate(dataset="synthetic", teacher="pose", student_crop="motion")
    paths = {"unlabeled_dir": tmp_path / "unlabeled", "pose_cache": tmp_path / "pose-cache"}
    cfg = pipeline_config(synthetic_spec(params, tmp_path, **paths), tmp_path / "data")
    assert (cfg.params.teacher, cfg.unlabeled, cfg.pose_cache) == (
        "pose",
        tmp_path / "unlabeled",
        tmp_path / "pose-cache",
    )
    assert (cfg.data, cfg.out) == (tmp_path / "data", tmp_path / "run")
    assert cfg.specs()[1].crop == MotionCropSpec()  # the student's input, and so the edge's
    plain_spec = synthetic_spec(TrainingJobCreate(dataset="synthetic"), tmp_path)
    plain = pipeline_config(plain_spec, tmp_path)
    assert (plain.params.teacher, plain.unlabeled, plain.specs()[1].crop) == ("cnn3d", None, None)


def test_a_job_spec_trains_on_one_dataset(tmp_path: Path) -> None:
    params = TrainingJobCreate(dataset="synthetic").training_params()
    with pytest.raises(ValidationError, match="exactly one"):
        JobSpec(params=params, job_dir=tmp_path)
    with pytest.raises(ValidationError, match="exactly one"):
        JobSpec(
            params=params, job_dir=tmp_path, synthetic=SyntheticDataset(), source_folder=tmp_path
        )


def test_production_is_compared_only_when_comparable(tmp_path: Path) -> None:
    spec = synthetic_spec(TrainingJobCreate(dataset="synthetic"), tmp_path)
    labels = ["walking", "falling"]
    production = ModelVersion(version="p", labels=labels)
    candidate = ModelVersion(version="c", labels=labels)
    assert production_scores(spec, production, candidate) is None  # not scored
    spec.scores_path.write_text(json.dumps({"macro_f1": 0.5, "fall_recall": 0.75}))
    assert production_scores(spec, production, candidate) == Scores(0.5, 0.75)
    assert production_scores(spec, production, ModelVersion(version="c", labels=["a", "b"])) is None
    spec.scores_path.write_text(json.dumps({"error": "ValueError: labels"}))
    assert production_scores(spec, production, candidate) is None


def test_epoch_lines_become_progress() -> None:
    progress = fold_line({}, '{"model": "teacher", "epoch": 1, "train_loss": 2.0}\n')
    progress = fold_line(progress, "teacher gate: not better\n")
    progress = fold_line(progress, '{"model": "student_kd", "epoch": 2, "val_macro_f1": 0.5}\n')
    assert (progress["stage"], progress["epoch"]) == ("student_kd", 2)
    assert [row["model"] for row in progress["history"]] == ["teacher", "student_kd"]


def test_an_event_is_written_and_returned_with_the_fields_it_was_sent_with() -> None:
    from cloud.service.db.tables import Event
    from cloud.service.ingest import EVENT_COLUMNS
    from cloud.service.schemas import EventPublic

    sent = set(ActionEvent.model_fields)
    assert set(EVENT_COLUMNS) == sent | {"received_at"}
    assert {c.name for c in Event.__table__.columns} == sent | {"id", "received_at"}
    assert set(EventPublic.model_fields) == sent | {"id", "received_at"}
