"""bench/window_phase.py: a student trained, exported, and played by the real edge agent at
several window phases; the scoring against the scripted fall."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.window_phase import parse_recipe, score_phase
from shared.video import probe_video

REPO = Path(__file__).resolve().parents[1]

FALL = {"start_s": 12.0, "end_s": 14.0}


def event(t: float, action: str = "falling", severity: str = "critical") -> dict:
    minutes, seconds = divmod(t, 60)
    return {
        "started_at": f"2026-01-01T00:{int(minutes):02d}:{seconds:06.3f}+00:00",
        "severity": severity,
        "type": "start",
        "action": action,
    }


def test_a_phase_is_scored_in_its_own_video_time() -> None:
    # Phase 3 at 15 fps: the video starts 0.2 s later, so the fall is at 11.8-13.8 s.
    events = [event(5.0), event(12.3), event(12.3, "walking", "info"), event(13.0)]
    scored = score_phase(events, FALL, shift_s=0.2, late_s=2.0)
    assert scored == {
        "caught": True,
        "latency_s": 0.5,
        "false_alarms": 1,
        "alerts_s": [5.0, 12.3, 13.0],
    }
    late = score_phase([event(16.1)], FALL, shift_s=0.0, late_s=2.0)
    assert (late["caught"], late["latency_s"], late["false_alarms"]) == (False, None, 0)
    assert score_phase([event(15.9)], FALL, shift_s=0.0, late_s=2.0)["caught"]


def test_a_recipe_is_hop_draws_and_jitter() -> None:
    assert parse_recipe("0.25:5") == (0.25, 5, 0.0)
    assert parse_recipe("0.5:8:0.25") == (0.5, 8, 0.25)
    for bad in ("0.25", "0:5", "0.5:0", "a:b", "0.5:8:-1", "0.5:8:0.1:2"):
        with pytest.raises(Exception, match="HOP_S:DRAWS"):
            parse_recipe(bad)


@pytest.mark.bench
@pytest.mark.timeout(600)
def test_the_benchmark_plays_every_phase_to_the_agent(tmp_path: Path) -> None:
    out = tmp_path / "phase.json"
    cmd = [
        sys.executable, "-m", "bench.window_phase", "--recipe", "0.5:2:0.25", "--epochs", "1",
        "--clips-per-class", "6", "--phases", "2", "--size", "64", "--work", str(tmp_path),
        "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=580)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    frames = [probe_video(tmp_path / f"scenario-64px-phase{k}.mp4").frame_count for k in (0, 1)]
    assert frames[0] == frames[1] + 1  # phase 1 starts one frame later
    (run,) = result["runs"]
    assert (run["hop_s"], run["draws"], run["time_jitter_s"], run["train_seed"]) == (
        0.5,
        2,
        0.25,
        0,
    )
    assert [p["phase"] for p in run["per_phase"]] == [0, 1]
    assert run["train_windows"] > 0
    summary = result["by_recipe"]["0.5:2:0.25"]
    assert summary["phases"] == 2
    assert summary["caught"] == sum(p["caught"] for p in run["per_phase"])
    assert result["fall"] == FALL and result["edge_hop_s"] == 0.5
    assert result["command"].endswith("--out " + str(out))
