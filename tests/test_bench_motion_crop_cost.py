"""bench/motion_crop_cost.py times both of the edge's paths over the same real frames."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from shared.video import write_video

REPO = Path(__file__).resolve().parents[1]


def test_the_cost_of_the_crop_is_measured_beside_the_whole_frame(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    room = rng.integers(0, 200, (240, 320, 3), dtype=np.uint8)
    frames = []
    for i in range(30):
        frame = room.copy()
        frame[100:180, 20 + 5 * i : 60 + 5 * i] = 255
        frames.append(frame)
    video = write_video(tmp_path / "walk.mp4", frames, fps=15.0)
    out = tmp_path / "cost.json"
    cmd = [sys.executable, "-m", "bench.motion_crop_cost", "--video", str(video), "--repeats", "2"]
    subprocess.run([*cmd, "--out", str(out)], cwd=REPO, check=True, capture_output=True)
    result = json.loads(out.read_text())
    assert result["video"] == {"path": str(video), "frames": 30, "size": [320, 240]}
    cost = result["per_frame_us"]
    assert cost["whole_frame"] > 0 and cost["motion_crop"] > 0
    assert abs(result["crop_over_whole"] - cost["motion_crop"] / cost["whole_frame"]) < 0.011
    assert result["machine"]["cores"] and result["command"].endswith("--out " + str(out))


def test_a_missing_video_is_a_clear_error(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "bench.motion_crop_cost", "--video", str(tmp_path / "no.mp4")]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert done.returncode != 0 and "not found" in done.stderr
