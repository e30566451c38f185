"""Training windows: two aligned views from one augmentation draw, labels by time."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from cloud.training.augment import IDENTITY, AugmentSpec, apply_augment, draw_augment
from cloud.training.windows import FrameCache, TwoViewWindows, list_windows
from shared.datasets import ClipRecord, Span
from shared.labels import LabelSet
from shared.preprocess import InputSpec, window_to_input
from shared.video import write_video

TEACHER = InputSpec(frames=16, height=64, width=64, clip_seconds=1.6)
STUDENT = InputSpec(frames=8, height=16, width=16, clip_seconds=1.6)
LABELS = LabelSet.from_names(["walking", "falling"])


@pytest.fixture()
def clip(tmp_path: Path) -> Path:
    """A 4 s clip of a bright square moving over a textured background."""
    rng = np.random.default_rng(3)
    background = rng.integers(0, 120, (120, 160, 3), dtype=np.uint8)
    frames = []
    for t in range(60):
        frame = background.copy()
        x = 10 + 2 * t
        frame[40:80, x : x + 30] = (40, 200, 240)
        frames.append(frame)
    return write_video(tmp_path / "walking" / "a.mp4", frames, fps=15.0)


def denormalise(view: np.ndarray, spec: InputSpec) -> np.ndarray:
    """(3,T,H,W) model input back to T x H x W x 3 RGB in [0, 255]."""
    rgb = view.transpose(1, 2, 3, 0) * np.array(spec.std) + np.array(spec.mean)
    return (rgb * 255.0).astype(np.float32)


def test_views_come_from_one_draw(clip: Path) -> None:
    record = ClipRecord(path=clip, label="walking")
    cache = FrameCache(max_side=160)
    refs = list_windows([record], cache, LABELS, STUDENT, hop_s=0.5)
    data = TwoViewWindows([record], refs, cache, TEACHER, STUDENT, AugmentSpec(), num_draws=2)
    item = data[1]
    teacher = denormalise(item["teacher"].numpy(), TEACHER)
    student = denormalise(item["student"].numpy(), STUDENT)
    # Student instant k is teacher instant 2k+1 (both end at the window's end).
    shrunk = np.stack(
        [cv2.resize(f, (16, 16), interpolation=cv2.INTER_AREA) for f in teacher[1::2]]
    )
    same_draw = np.corrcoef(shrunk.ravel(), student.ravel())[0, 1]
    data.set_epoch(1)  # the other augmentation draw
    other = denormalise(data[1]["student"].numpy(), STUDENT)
    other_draw = np.corrcoef(shrunk.ravel(), other.ravel())[0, 1]
    assert same_draw > 0.97
    assert other_draw < same_draw - 0.05


def test_unaugmented_student_view_is_the_edge_input(clip: Path) -> None:
    record = ClipRecord(path=clip, label="walking")
    cache = FrameCache(max_side=160)
    refs = list_windows([record], cache, LABELS, STUDENT, hop_s=0.5)
    data = TwoViewWindows([record], refs, cache, TEACHER, STUDENT, augment=None)
    video = cache.get(clip)
    from shared.preprocess import window_indices

    picks = window_indices(video.timestamps, refs[0].end_s, STUDENT)
    expected = window_to_input([video.frames[i] for i in picks], STUDENT)
    np.testing.assert_array_equal(data[0]["student"].numpy(), expected)
    assert data.num_draws == 1


def test_windows_take_labels_from_spans(clip: Path) -> None:
    record = ClipRecord(
        path=clip,
        label="fall",
        spans=(Span("walking", 0.0, 2.0), Span("falling", 2.0, 4.0)),
    )
    refs = list_windows([record], FrameCache(), LABELS, STUDENT, hop_s=0.25)
    by_mid = {round(r.end_s - STUDENT.clip_seconds / 2, 2): r.label for r in refs}
    assert min(by_mid.items())[1] == LABELS.index("walking")
    assert max(by_mid.items())[1] == LABELS.index("falling")
    unlabelled = list_windows([record], FrameCache(), None, STUDENT, hop_s=0.5)
    assert {r.label for r in unlabelled} == {-1}


def test_augment_keeps_size_and_identity_is_exact() -> None:
    frame = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    assert apply_augment(frame, IDENTITY) is frame
    draw = draw_augment(np.random.default_rng(1))
    out = apply_augment(frame, draw)
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert not np.array_equal(out, frame)
    assert draw == draw_augment(np.random.default_rng(1))  # seeded: reproducible


def test_materialized_view_equals_computed_view(clip: Path) -> None:
    record = ClipRecord(path=clip, label="walking")
    cache = FrameCache()
    refs = list_windows([record], cache, LABELS, STUDENT, hop_s=0.5)
    data = TwoViewWindows([record], refs, cache, TEACHER, STUDENT, AugmentSpec(), num_draws=2)
    computed = [[data.view(i, "student", d) for d in range(2)] for i in range(len(data))]
    data.materialize("student")
    assert data.banks["student"].shape == (len(data), 2, 3, 8, 16, 16)
    for i in range(len(data)):
        for d in range(2):
            data.set_epoch(d)
            np.testing.assert_array_equal(data[i]["student"].numpy(), computed[i][d])


def test_a_time_shift_moves_every_view_of_the_window_and_stays_in_the_clip(clip: Path) -> None:
    record = ClipRecord(path=clip, label="walking")
    cache = FrameCache()
    refs = list_windows([record], cache, LABELS, STUDENT, hop_s=0.5)
    spec = AugmentSpec(max_time_shift_s=0.25)
    data = TwoViewWindows([record], refs, cache, TEACHER, STUDENT, spec, num_draws=8)
    video = cache.get(clip)
    shifts = [data.augment_draw(1, d).time_shift_s for d in range(8)]
    assert all(-0.25 <= s <= 0.25 for s in shifts) and len(set(shifts)) == 8
    d = max(range(8), key=lambda k: abs(shifts[k]))
    draw = data.augment_draw(1, d)
    moved = refs[1].end_s + draw.time_shift_s
    assert data.end_of(1, draw) == pytest.approx(moved)
    # The shifted view is the grid view's draw applied to frames picked at the moved end.
    from shared.preprocess import window_indices

    for view, view_spec in (("student", STUDENT), ("teacher", TEACHER)):
        picks = window_indices(video.timestamps, moved, view_spec)
        frames = [apply_augment(video.frames[i], draw) for i in picks]
        expected = window_to_input(frames, view_spec)
        np.testing.assert_array_equal(data.view(1, view, d), expected)
    # Clamped: never before the first full window, never past the clip's end.
    first, last = refs[0].end_s, video.duration_s
    assert data.end_of(0, replace(draw, time_shift_s=-0.25)) == first
    assert data.end_of(len(refs) - 1, replace(draw, time_shift_s=10.0)) == last


def test_draws_without_a_time_shift_are_the_draws_before_it_existed() -> None:
    plain = draw_augment(np.random.default_rng(7))
    shifted = draw_augment(np.random.default_rng(7), AugmentSpec(max_time_shift_s=0.25))
    assert plain.time_shift_s == 0.0 and shifted.time_shift_s != 0.0
    assert replace(shifted, time_shift_s=0.0) == plain
