"""The demo's student, run by `vigil edge run --print` on its own scenario video.

Everything is real: the student the quick demo trained through the service (synthetic
clips filmed in the scenario's room: its camera, its resident, other motions) and
exported, a scenario video written at another resolution than the demo's, decoded by
OpenCV, downsampled by the agent and scored by onnxruntime, with no cloud in the loop.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cloud.demo import ROOM_SEED, VIDEO_EPOCH
from shared.labels import is_fall_label
from shared.messages import ActionEvent
from shared.synth import DEFAULT_SCENARIO, parse_script, write_scenario

# A fall is a short act: the alert may come while it happens or soon after the body lands.
LATE_S = 2.0

# The session's quick demo may train here first: minutes on 2 cores.
pytestmark = pytest.mark.timeout(1200)


def vigil(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "shared", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=500,
    )
    assert done.returncode == 0, f"vigil {' '.join(args)} failed:\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture
def student(quick_demo: tuple[Path, str]) -> Path:
    """The ONNX student the demo's training job exported (and the demo's edge ran)."""
    out, _ = quick_demo
    (onnx_file,) = (out / "cloud" / "jobs").glob("*/run/student.onnx")
    return onnx_file


def test_the_scripted_fall_raises_a_critical_event_in_its_interval(
    tmp_path: Path, student: Path
) -> None:
    video = tmp_path / "scenario.mp4"
    timeline = json.loads(
        write_scenario(video, parse_script(DEFAULT_SCENARIO), seed=ROOM_SEED, size=160).read_text()
    )
    fall = next(s for s in timeline["segments"] if is_fall_label(s["label"]))
    env = {**os.environ, "VIGIL_CAPTURE__START_TIME": VIDEO_EPOCH.isoformat()}
    out = vigil(
        "edge", "run", "--source", str(video), "--model", str(student), "--print",
        "--data-dir", str(tmp_path / "edge"), "--device-id", "room-1", "--site", "home",
        env=env,
    )  # fmt: skip
    events = [ActionEvent.model_validate_json(line) for line in out.splitlines() if line]
    assert events, "the agent printed no events"
    critical = [
        (e.started_at - VIDEO_EPOCH).total_seconds()
        for e in events
        if e.severity == "critical" and e.type == "start" and is_fall_label(e.action)
    ]
    seen = [
        f"{(e.started_at - VIDEO_EPOCH).total_seconds():.1f}s {e.type} {e.action}" for e in events
    ]
    assert critical, f"no critical fall; events: {seen}"
    first = critical[0]
    assert fall["start_s"] <= first <= fall["end_s"] + LATE_S, (
        f"first fall alert at {first:.1f} s, scripted fall {fall['start_s']}-{fall['end_s']} s;"
        f" events: {seen}"
    )
    # No false alarm while the person walks, sits and stands before the fall.
    assert all(t >= fall["start_s"] for t in critical), f"fall alert before the fall: {seen}"
