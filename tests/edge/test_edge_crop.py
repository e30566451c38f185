"""A model that asks for the motion crop gets it on the edge: the real agent, a real ONNX
model, a real video file."""

from __future__ import annotations

import io
import queue
import threading
from pathlib import Path

import numpy as np

from edge.agent import Agent
from edge.capture import CaptureWorker, FrameQueue
from edge.config import CaptureConfig, load_settings
from edge.stats import AgentStats
from shared.messages import ActionEvent
from shared.motion_crop import MotionCropSpec, crop_boxes, crop_frame
from shared.preprocess import downsample_frame
from shared.video import read_video, write_video
from tests.kit.edge import COLOURS_RGB, SPEC, bgr, colour_model

# No margin and a small minimum box, so that the crop around the red block is mostly red.
CROP = MotionCropSpec(margin=0.0, min_scale=0.2)


def red_block_on_green(path: Path, seconds: float = 6.0, fps: float = 15.0) -> Path:
    """A green room (the colour model's `walking`) with a red block (`falling`) moving
    to and fro: a ninth of the frame, so that the whole frame still reads as green."""
    frames = []
    for i in range(round(seconds * fps)):
        frame = np.empty((120, 160, 3), np.uint8)
        frame[:] = bgr(COLOURS_RGB["walking"])
        phase = (i / fps) % 4.0
        x = 10 + round(90 * (phase if phase < 2 else 4 - phase) / 2)
        frame[40:80, x : x + 53] = bgr(COLOURS_RGB["falling"])
        frames.append(frame)
    return write_video(path, frames, fps)


def actions(tmp_path: Path, video: Path, crop: MotionCropSpec | None) -> list[str]:
    model = tmp_path / f"student-{crop is not None}.onnx"
    spec = SPEC.model_copy(update={"crop": crop})
    model.write_bytes(colour_model("crop-1" if crop else "whole-1", spec=spec))
    settings = load_settings(
        None, site="s", device_id="d", data_dir=tmp_path / f"data-{crop is not None}"
    )
    out = io.StringIO()
    assert Agent(settings, str(video), model_path=model, printer=out).run(max_seconds=60).flushed
    events = [ActionEvent.model_validate_json(line) for line in out.getvalue().splitlines()]
    return [e.action for e in events if e.type.value == "start"]


def test_the_agent_crops_where_the_model_asks_and_only_then(tmp_path: Path) -> None:
    video = red_block_on_green(tmp_path / "room.mp4")
    assert actions(tmp_path, video, None) == ["walking"]  # the whole frame: mostly green
    assert "falling" in actions(tmp_path, video, CROP)  # the crop: mostly the red block


def test_the_edge_cuts_the_frames_training_would(tmp_path: Path) -> None:
    """The agent's capture keeps exactly downsample(crop(frame, box)) of `crop_boxes`."""
    video = red_block_on_green(tmp_path / "room.mp4", seconds=2.0)
    spec = SPEC.model_copy(update={"crop": CROP})
    frames: FrameQueue = queue.Queue()
    worker = CaptureWorker(
        str(video), frames, threading.Event(), AgentStats(), lambda: spec, None, CaptureConfig()
    )
    worker.start()
    kept, clips = [], []
    while (frame := frames.get(timeout=30)) is not None:
        kept.append(frame.small)
        clips.append(frame.clip)
    decoded = read_video(video)
    boxes = crop_boxes(decoded.frames, decoded.timestamps, CROP)
    expected = [
        downsample_frame(crop_frame(f, b), spec.height, spec.width)
        for f, b in zip(decoded.frames, boxes, strict=True)
    ]
    assert len(kept) == len(expected)
    assert all(np.array_equal(a, b) for a, b in zip(kept, expected, strict=True))
    # Unsure windows go up as clips of the whole frame, never of the crop.
    whole = [downsample_frame(f, spec.height, spec.width) for f in decoded.frames]
    assert all(np.array_equal(a, b) for a, b in zip(clips, whole, strict=True))
