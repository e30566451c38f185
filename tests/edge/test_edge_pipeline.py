"""The whole agent in-process on real video files, a real model and a real HTTP cloud stub."""

from __future__ import annotations

import functools
import io
import json
import threading
import time
from datetime import datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cv2
import pytest

from edge.agent import Agent, AgentError
from edge.config import EdgeSettings, load_settings
from shared.cli import main as vigil
from shared.loopback import free_port
from shared.messages import ActionEvent, ClipMeta, ClipReason, FallStage, Heartbeat
from tests.kit.edge import (
    UNSURE_RGB,
    BackgroundAgent,
    CloudStub,
    Signer,
    colour_model,
    colour_video,
)
from tests.kit.outcomes import wait_for

SCENARIO = [("walking", 3.0), ("falling", 1.0), ("lying_on_floor", 4.0), ("no_person", 2.0)]


def settings(tmp_path: Path, **over: Any) -> EdgeSettings:
    base: dict[str, Any] = {
        "site": "site1",
        "device_id": "dev1",
        "data_dir": tmp_path / "data",
        "events": {"long_lie_s": 2.0, "fall_hold_s": 0.0},  # fall_hold_s: unit-tested
    }
    return load_settings(None, **{**base, **over})


def run_agent(agent: Agent, printer: io.StringIO | None = None) -> list[ActionEvent]:
    summary = agent.run(max_seconds=60)
    assert summary.flushed
    if printer is None:
        return []
    return [ActionEvent.model_validate_json(line) for line in printer.getvalue().splitlines()]


def seconds_into(agent: Agent, when: datetime) -> float:
    return (when - agent.clock.origin).total_seconds()


def test_a_file_yields_the_scripted_events(tmp_path: Path, model_file: Path) -> None:
    video = colour_video(tmp_path / "scene.mp4", SCENARIO)
    out = io.StringIO()
    agent = Agent(settings(tmp_path), str(video), model_path=model_file, printer=out)
    events = run_agent(agent, out)
    assert [(e.type.value, e.action) for e in events] == [
        ("start", "walking"),
        ("start", "falling"),  # possible: a warning at once
        ("end", "walking"),
        ("update", "falling"),  # confirmed: still down events.confirm_s later, the alarm
        ("start", "lying_on_floor"),
        ("end", "falling"),
        ("start", "long_lie"),
        ("end", "long_lie"),
        ("end", "lying_on_floor"),
    ]
    fall, confirmed = events[1], events[3]
    assert (fall.stage, fall.severity.value, fall.model_version) == (
        FallStage.POSSIBLE,
        "warning",
        "test-1",
    )
    assert (confirmed.stage, confirmed.severity.value) == (FallStage.CONFIRMED, "critical")
    # Event times are video time on the agent's wall clock: the fall is at 3 s of video.
    assert 3.0 <= seconds_into(agent, fall.started_at) <= 4.0
    assert confirmed.started_at == fall.started_at and confirmed.stage_at is not None
    waited = (confirmed.stage_at - fall.started_at).total_seconds()
    assert waited == pytest.approx(agent.settings.events.confirm_s, abs=0.01)
    long_lie = events[6]
    assert long_lie.severity.value == "critical"
    assert seconds_into(agent, long_lie.started_at) == pytest.approx(4.5, abs=0.6)
    assert [e.seq for e in events] == sorted({e.seq for e in events})
    assert len({e.event_id for e in events}) == len(events)
    assert all((e.device_id, e.site) == ("dev1", "site1") for e in events)
    assert agent.stats.get("windows") == pytest.approx(19, abs=1)  # (10 s - 1 s) / 0.5 s + 1


def test_realtime_paces_a_file_at_its_frame_rate(tmp_path: Path, model_file: Path) -> None:
    video = colour_video(tmp_path / "short.mp4", [("walking", 2.0)])
    started = time.monotonic()
    run_agent(Agent(settings(tmp_path, capture={"realtime": True}), str(video), model_file))
    paced = time.monotonic() - started
    started = time.monotonic()
    run_agent(Agent(settings(tmp_path), str(video), model_file))
    fast = time.monotonic() - started
    assert paced >= 1.8 and fast < paced / 2


def test_max_seconds_ends_a_run_gracefully(tmp_path: Path, model_file: Path) -> None:
    video = colour_video(tmp_path / "long.mp4", [("walking", 30.0)])
    out = io.StringIO()
    agent = Agent(settings(tmp_path, capture={"realtime": True}), str(video), model_file, out)
    started = time.monotonic()
    summary = agent.run(max_seconds=2.0)
    assert time.monotonic() - started < 6
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(e["type"], e["action"]) for e in events] == [("start", "walking"), ("end", "walking")]
    assert summary.windows >= 1


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p / "missing.mp4", "file does not exist"),
        (
            lambda p: (p / "text.mp4", (p / "text.mp4").write_text("not a video"))[0],
            "cannot open it as a video",
        ),
        (lambda p: (p / "empty.mp4", (p / "empty.mp4").write_bytes(b""))[0], "empty"),
    ],
    ids=["missing", "not-a-video", "empty"],
)
def test_unreadable_source_is_a_clear_error(
    tmp_path: Path,
    model_file: Path,
    capsys: pytest.CaptureFixture[str],
    make,
    reason: str,  # type: ignore[no-untyped-def]
) -> None:
    source = make(tmp_path)
    code = vigil(
        [
            "edge",
            "run",
            "--source",
            str(source),
            "--model",
            str(model_file),
            "--print",
            "--data-dir",
            str(tmp_path / "data"),
        ]
    )
    err = capsys.readouterr().err
    assert code != 0
    assert str(source) in err and reason in err


def test_a_bad_model_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = colour_video(tmp_path / "v.mp4", [("walking", 1.0)])
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"junk")
    code = vigil(
        [
            "edge",
            "run",
            "--source",
            str(video),
            "--model",
            str(junk),
            "--data-dir",
            str(tmp_path / "data"),
        ]
    )
    assert code == 4 and "junk.onnx" in capsys.readouterr().err


def test_unsure_windows_become_rate_limited_clips_over_http(
    tmp_path: Path, model_file: Path, cloud: CloudStub
) -> None:
    video = colour_video(
        tmp_path / "unsure.mp4",
        [("walking", 2.0), (UNSURE_RGB, 2.0), ("no_person", 2.0), (UNSURE_RGB, 2.0)],
    )
    cfg = settings(tmp_path, cloud_url=cloud.url, clips={"dedup_s": 60, "max_per_hour": 5})
    run_agent(Agent(cfg, str(video), model_file))
    clips = cloud.clips()
    assert len(clips) == 1  # the second unsure stretch predicts the same label: a near-duplicate
    meta_json, mp4 = clips[0]
    meta = ClipMeta.model_validate(meta_json)
    assert meta.predicted in ("walking", "sitting_down") and meta.margin <= 0.15
    assert (meta.width, meta.height) == (16, 16)  # privacy default: the model's input size
    assert meta.model_version == "test-1" and meta.device_id == "dev1"
    assert set(meta.probabilities) == {
        "walking",
        "sitting_down",
        "falling",
        "lying_on_floor",
        "no_person",
    }
    assert meta.frames >= 20  # 1 s window + 1 s before + 1 s after at 10 fps
    saved = tmp_path / "clip.mp4"
    saved.write_bytes(mp4)
    cap = cv2.VideoCapture(str(saved))
    ok, frame = cap.read()
    assert ok and frame.shape[:2] == (16, 16)
    assert "Authorization" not in cloud.posted("/api/v1/clips")[0].headers  # no token set
    assert list((tmp_path / "data" / "clips").glob("*.mp4")) == []  # deleted once delivered


def test_a_confirmed_fall_uploads_its_clip_whatever_the_unsure_budget(
    tmp_path: Path, model_file: Path, cloud: CloudStub
) -> None:
    video = colour_video(tmp_path / "fall.mp4", SCENARIO)
    # At the camera's pace, as on a device (a file played flat out can run the frames ahead
    # of the decisions, and the clip then starts later), with no unsure clips allowed.
    cfg = settings(
        tmp_path, cloud_url=cloud.url, clips={"max_per_hour": 0}, capture={"realtime": True}
    )
    agent = Agent(cfg, str(video), model_file)
    run_agent(agent)
    (meta_json, mp4), *others = cloud.clips()
    assert others == []
    meta = ClipMeta.model_validate(meta_json)
    assert meta.reason is ClipReason.ALERT and meta.predicted in ("falling", "lying_on_floor")
    (fall,) = [e for e in map(ActionEvent.model_validate, cloud.events())
               if e.stage is FallStage.CONFIRMED and e.type.value == "update"]  # fmt: skip
    # From the window that showed the fall (1 s before its start) to 1 s after the alarm.
    assert meta.started_at <= fall.started_at - timedelta(seconds=1)
    assert fall.stage_at is not None and meta.ended_at >= fall.stage_at
    assert (meta.width, meta.height) == (16, 16)  # the same privacy default as unsure clips
    saved = tmp_path / "fall-clip.mp4"
    saved.write_bytes(mp4)
    assert cv2.VideoCapture(str(saved)).read()[0]


def test_a_site_may_opt_in_to_higher_resolution_clips(
    tmp_path: Path, model_file: Path, cloud: CloudStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIL_DEVICE_TOKEN", "tok-123")
    video = colour_video(tmp_path / "unsure.mp4", [(UNSURE_RGB, 3.0)])
    cfg = settings(tmp_path, cloud_url=cloud.url, clips={"resolution": {"width": 32, "height": 24}})
    run_agent(Agent(cfg, str(video), model_file))
    ((meta_json, _),) = cloud.clips()
    assert (meta_json["width"], meta_json["height"]) == (32, 24)
    upload = cloud.posted("/api/v1/clips")[0]
    assert upload.headers["Authorization"] == "Bearer tok-123"


def test_events_and_heartbeats_over_http_without_a_broker(
    tmp_path: Path, model_file: Path, cloud: CloudStub
) -> None:
    video = colour_video(tmp_path / "v.mp4", [("walking", 2.5), ("sitting_down", 2.5)])
    cfg = settings(
        tmp_path,
        cloud_url=cloud.url,
        heartbeat={"interval_s": 0.2},
        capture={"realtime": True},
        events={"min_start_s": 0.5},
    )
    agent = Agent(cfg, str(video), model_file)
    run_agent(agent)
    events = [ActionEvent.model_validate(e) for e in cloud.events()]
    assert [(e.type.value, e.action) for e in events] == [
        ("start", "walking"),
        ("end", "walking"),
        ("start", "sitting_down"),
        ("end", "sitting_down"),
    ]
    beats = [
        Heartbeat.model_validate_json(r.body)
        for r in cloud.posted("/api/v1/devices/dev1/heartbeat")
    ]
    assert len(beats) >= 5
    busy = beats[-2]
    assert busy.model_version == "test-1" and busy.camera_ok
    assert busy.fps_in > 5 and busy.latency_ms_p95 >= busy.latency_ms_p50 > 0
    assert busy.memory_mb > 10 and busy.uptime_s > 1
    # The learning phase: the thresholds it runs, and its window fall scores (no video).
    assert busy.thresholds == cfg.events.thresholds
    last = [b for b in beats if b.status.value == "online"][-1]  # the last is its goodbye
    assert last.fall_scores is not None and last.fall_scores_since is not None
    assert 0 < sum(last.fall_scores) <= agent.stats.get("windows")  # each window once, at most
    assert sum(last.fall_scores[10:]) == 0  # walking and sitting: none scored as a fall
    assert busy.fall_scores is not None and sum(busy.fall_scores) <= sum(last.fall_scores)


def test_cloud_mode_fetches_and_verifies_the_current_model(
    tmp_path: Path, cloud: CloudStub, signer: Signer
) -> None:
    artifact = colour_model("test-7")
    cloud.files["/api/v1/models/test-7/artifact"] = artifact
    cloud.current = signer.announce(artifact, "test-7", "/api/v1/models/test-7/artifact")
    video = colour_video(tmp_path / "v.mp4", [("walking", 3.0)])
    out = io.StringIO()
    cfg = settings(tmp_path, cloud_url=cloud.url, model={"public_key": signer.public_b64})
    events = run_agent(Agent(cfg, str(video), printer=out), out)
    assert {e.model_version for e in events} == {"test-7"}
    assert (tmp_path / "data" / "models" / "test-7.onnx").exists()

    cloud.current = signer.announce(
        artifact, "test-7", "/api/v1/models/test-7/artifact", signed=b"forged"
    )
    with pytest.raises(AgentError, match="bad signature"):
        Agent(cfg, str(video))


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


def test_a_dead_stream_is_reported_and_retried_never_a_crash(
    tmp_path: Path, model_file: Path
) -> None:
    colour_video(tmp_path / "cam.mp4", [("walking", 2.0)])
    port = free_port()
    cfg = settings(tmp_path, capture={"reconnect_min_s": 0.1, "reconnect_max_s": 0.3})
    agent = Agent(cfg, f"http://127.0.0.1:{port}/cam.mp4", model_file)
    with BackgroundAgent(agent):
        # Nobody serves the stream yet: the camera is down, reported, and retried.
        wait_for(lambda: not agent.probe.heartbeat().camera_ok, 10, "camera_ok false")
        assert f"127.0.0.1:{port}" in (agent.stats.last_error or "")
        handler = functools.partial(QuietFiles, directory=str(tmp_path))
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        try:
            # Each time the stream ends it is lost and reopened: frames keep coming.
            wait_for(lambda: agent.stats.get("frames_in") >= 80, 20, "four reconnections")
            wait_for(lambda: agent.stats.get("windows") >= 2, 10, "windows from the stream")
        finally:
            server.shutdown()
            server.server_close()
    assert agent.capture.kind.value == "stream"
