"""The motion crop: a box that follows what moves, the same in training and on the edge."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from cloud.training.windows import FrameCache, TwoViewWindows, list_windows
from shared.datasets import ClipRecord, load_folder
from shared.labels import LabelSet
from shared.modelmeta import ModelMetadata
from shared.motion_crop import (
    FULL_FRAME,
    Box,
    MotionCropper,
    MotionCropSpec,
    crop_boxes,
    crop_frame,
    student_crop,
)
from shared.preprocess import InputSpec, downsample_frame, window_indices, window_to_input
from shared.video import read_video, write_video

SPEC = MotionCropSpec()
LABELS = LabelSet.from_names(["walking", "falling"])


def room(height: int = 240, width: int = 320, seed: int = 0) -> np.ndarray:
    """A still, textured room (BGR)."""
    rng = np.random.default_rng(seed)
    texture = rng.integers(60, 140, (height // 8, width // 8, 3), dtype=np.uint8)
    return cv2.resize(texture, (width, height), interpolation=cv2.INTER_NEAREST)


def with_person(frame: np.ndarray, x: float, y: float, w: float = 0.1, h: float = 0.3) -> None:
    """Paint a bright 'person' centred at (x, y), sizes as shares of the frame."""
    height, width = frame.shape[:2]
    x0, x1 = round((x - w / 2) * width), round((x + w / 2) * width)
    y0, y1 = round((y - h / 2) * height), round((y + h / 2) * height)
    frame[max(y0, 0) : y1, max(x0, 0) : x1] = (230, 230, 250)


def follow(frames: list[np.ndarray], fps: float, spec: MotionCropSpec = SPEC) -> list[Box]:
    return crop_boxes(frames, [i / fps for i in range(len(frames))], spec)


def walk(seconds: float, fps: float, size: tuple[int, int] = (240, 320)) -> list[np.ndarray]:
    """A person walking left to right across the lower half of the room."""
    base, frames = room(*size), []
    for i in range(round(seconds * fps)):
        frame = base.copy()
        with_person(frame, 0.2 + 0.6 * i / (seconds * fps), 0.6)
        frames.append(frame)
    return frames


def test_the_box_follows_a_walking_person_and_zooms_in() -> None:
    frames = walk(3.0, 15.0)
    box = follow(frames, 15.0)[-1]
    assert box.scale < 0.6  # the student sees the person larger than in the whole frame
    assert abs(box.cx - 0.78) < 0.1 and abs(box.cy - 0.6) < 0.1
    # The person is inside the crop.
    x0, x1 = box.cx - box.scale / 2, box.cx + box.scale / 2
    assert x0 < 0.75 and x1 > 0.8


def test_a_still_scene_and_an_exposure_step_keep_the_whole_frame() -> None:
    still = room()
    brighter = cv2.convertScaleAbs(still, alpha=1.0, beta=40)
    frames = [still] * 15 + [brighter] * 30
    assert all(b == FULL_FRAME for b in follow(frames, 15.0))


def test_the_box_holds_on_a_person_who_stops_then_widens_back() -> None:
    spec = MotionCropSpec(hold_s=4.0, release_s=1.0)
    frames = walk(2.0, 15.0)
    frames += [frames[-1]] * round(15.0 * 12)  # lying still for 12 s
    boxes = follow(frames, 15.0, spec)
    settled = boxes[30 + 8]  # half a second after the person stopped
    after_3s = boxes[30 + 45]
    assert settled.scale < 0.6
    assert abs(after_3s.cx - settled.cx) < 0.02 and after_3s.scale < 0.6  # still held
    assert boxes[-1].scale > 0.95  # long after the hold: back to the whole frame


def test_someone_walking_past_does_not_take_the_box_from_a_still_person() -> None:
    spec = MotionCropSpec(hold_s=10.0)
    frames = walk(2.0, 15.0)  # ends at x = 0.8, lower half, then lies still
    still = frames[-1]
    for i in range(60):  # a second person crosses the top left, far from the box
        frame = still.copy()
        with_person(frame, 0.05 + 0.3 * i / 60, 0.2, h=0.2)
        frames.append(frame)
    box = follow(frames, 15.0, spec)[-1]
    assert box.cx > 0.6 and box.cy > 0.4


def test_the_box_is_the_same_at_another_frame_rate_and_resolution() -> None:
    """Training follows a 160 px copy at the video's rate; the edge, the camera's frames."""
    camera = follow(walk(3.0, 30.0, (480, 640)), 30.0)[-1]
    training = follow(walk(3.0, 15.0, (120, 160)), 15.0)[-1]
    assert abs(camera.cx - training.cx) < 0.03
    assert abs(camera.cy - training.cy) < 0.03
    assert abs(camera.scale - training.scale) < 0.05


def test_crop_frame_keeps_the_aspect_ratio_and_stays_inside() -> None:
    frame = np.arange(120 * 160 * 3, dtype=np.uint32).reshape(120, 160, 3).astype(np.uint8)
    corner = crop_frame(frame, Box(0.98, 0.02, 0.5))
    assert corner.shape == (60, 80, 3)
    assert np.array_equal(corner, frame[:60, 80:])  # moved inside, not shrunk
    assert crop_frame(frame, FULL_FRAME).shape == frame.shape
    assert crop_frame(frame, Box(0.5, 0.5, 0.0)).shape == (1, 1, 3)


def test_the_crop_travels_in_the_model_metadata() -> None:
    spec = InputSpec(crop=MotionCropSpec(min_scale=0.3))
    meta = ModelMetadata.for_labels(LABELS, model_version="v", input=spec)
    again = ModelMetadata.from_properties(meta.to_properties())
    assert again.input.crop == MotionCropSpec(min_scale=0.3)
    plain = ModelMetadata.for_labels(LABELS, model_version="v", input=InputSpec())
    assert ModelMetadata.from_properties(plain.to_properties()).input.crop is None
    # Without a crop the metadata has no crop key: devices older than the crop accept it.
    assert "crop" not in json.loads(plain.to_properties()["vigil"])["input"]
    assert "crop" in json.loads(meta.to_properties()["vigil"])["input"]
    with pytest.raises(ValueError):
        MotionCropSpec.model_validate({"kind": "zoom"})
    with pytest.raises(ValueError, match="unknown crop"):
        student_crop("zoom")
    assert student_crop("none") is None and student_crop("motion") == MotionCropSpec()


def test_training_windows_show_the_student_the_crop(tmp_path: Path) -> None:
    clip = write_video(tmp_path / "walking" / "a.mp4", walk(3.0, 15.0, (120, 160)), fps=15.0)
    record = ClipRecord(path=clip, label="walking")
    cache = FrameCache(max_side=160)
    teacher = InputSpec(frames=8, height=32, width=32, clip_seconds=1.6)
    whole = InputSpec(frames=8, height=16, width=16, clip_seconds=1.6)
    cropped = whole.model_copy(update={"crop": SPEC})
    refs = list_windows([record], cache, None, whole, hop_s=0.5)
    last = len(refs) - 1
    view = TwoViewWindows([record], refs, cache, teacher, cropped).view(last, "student", 0)
    plain = TwoViewWindows([record], refs, cache, teacher, whole).view(last, "student", 0)
    video = read_video(clip)
    boxes = crop_boxes(video.frames, video.timestamps, SPEC)
    picks = window_indices(video.timestamps, refs[last].end_s, cropped)
    expected = window_to_input([crop_frame(video.frames[i], boxes[i]) for i in picks], cropped)
    assert np.allclose(view, expected)
    assert not np.allclose(view, plain)
    # The teacher's view is the whole frame either way.
    teacher_views = [
        TwoViewWindows([record], refs, cache, teacher, s).view(last, "teacher", 0)
        for s in (whole, cropped)
    ]
    assert np.array_equal(*teacher_views)


def test_on_real_video_training_and_the_edge_follow_the_same_box(upfall_root: Path) -> None:
    """A 160 px training copy against the full 640x480 frames the edge would see."""
    records = [r for r in load_folder(upfall_root) if r.path.name == "s1_trial1_cam2.mp4"]
    record = next(r for r in records if r.label == "fall_sideways")
    full = read_video(record.path)
    small = FrameCache(max_side=160).get(record.path)
    edge = crop_boxes(full.frames, full.timestamps, SPEC)
    training = crop_boxes(small.frames, small.timestamps, SPEC)
    gaps = [
        max(abs(a.cx - b.cx), abs(a.cy - b.cy), abs(a.scale - b.scale))
        for a, b in zip(edge, training, strict=True)
    ]
    assert float(np.mean(gaps)) < 0.03
    # The person lying on the floor ends up larger than in the whole frame.
    assert min(b.scale for b in edge[-len(edge) // 3 :]) < 0.7
    last = edge[-1]
    small_crop = downsample_frame(crop_frame(full.frames[-1], last), 32, 32)
    assert small_crop.shape == (32, 32, 3)


def test_the_cropper_starts_again_when_the_source_changes_size() -> None:
    cropper = MotionCropper(SPEC)
    for i, frame in enumerate(walk(2.0, 15.0)):
        cropper.update(frame, i / 15.0)
    assert cropper.box.scale < 0.7
    # A new camera: start again from the whole frame, nothing to compare with yet.
    assert cropper.update(room(480, 640), 3.0) == FULL_FRAME
    assert cropper.update(room(480, 640), 3.1) == FULL_FRAME
