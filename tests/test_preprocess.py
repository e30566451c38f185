"""Training and the edge share one preprocessing path; windows are sampled by time."""

from __future__ import annotations

import numpy as np
import pytest

from shared.labels import DEFAULT_LABEL_SET, LabelSet
from shared.modelmeta import ModelMetadata, ModelMetadataError
from shared.preprocess import (
    InputSpec,
    downsample_frame,
    window_ends,
    window_indices,
    window_times,
    window_to_input,
)

SPEC = InputSpec(frames=8, height=32, width=32, clip_seconds=1.6)


def random_frames(n: int, h: int = 240, w: int = 320, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def test_edge_path_equals_training_path() -> None:
    frames = random_frames(8)
    training = window_to_input(frames, SPEC)  # full-resolution frames, resized inside
    # The edge downsamples each frame as it arrives and keeps only the small ones.
    ring = [downsample_frame(f, SPEC.height, SPEC.width) for f in frames]
    edge = window_to_input(ring, SPEC)
    assert training.shape == (3, 8, 32, 32)
    assert training.dtype == np.float32
    np.testing.assert_array_equal(training, edge)


def test_normalisation_is_rgb_then_mean_std() -> None:
    blue = np.zeros((32, 32, 3), np.uint8)
    blue[..., 0] = 255  # BGR: pure blue
    x = window_to_input([blue] * 8, SPEC)
    mean, std = np.array(SPEC.mean), np.array(SPEC.std)
    expected_rgb = (np.array([0.0, 0.0, 1.0]) - mean) / std
    np.testing.assert_allclose(x[:, 0, 0, 0], expected_rgb, rtol=1e-6)


def test_wrong_window_length_is_refused() -> None:
    with pytest.raises(ValueError, match="7 frames"):
        window_to_input(random_frames(7, 32, 32), SPEC)


def test_grey_frame_is_refused() -> None:
    with pytest.raises(ValueError, match="BGR"):
        downsample_frame(np.zeros((10, 10), np.uint8), 32, 32)


@pytest.mark.parametrize("fps", [18.0, 30.0, 15.0, 29.53])
def test_window_covers_same_seconds_at_any_frame_rate(fps: float) -> None:
    timestamps = np.arange(int(10 * fps)) / fps
    idx = window_indices(timestamps, end_s=5.0, spec=SPEC)
    picked = timestamps[idx]
    assert len(idx) == SPEC.frames
    np.testing.assert_allclose(picked, window_times(5.0, SPEC), atol=0.5 / fps + 1e-9)
    span = picked[-1] - picked[0]
    assert span == pytest.approx(SPEC.clip_seconds * (SPEC.frames - 1) / SPEC.frames, abs=1 / fps)


def test_same_instants_at_18_and_30_fps() -> None:
    at18 = np.arange(180) / 18.0
    at30 = np.arange(300) / 30.0
    t18 = at18[window_indices(at18, 4.0, SPEC)]
    t30 = at30[window_indices(at30, 4.0, SPEC)]
    assert np.max(np.abs(t18 - t30)) <= 0.5 / 18 + 0.5 / 30


def test_window_at_video_start_is_padded_with_first_frame() -> None:
    timestamps = np.arange(30) / 15.0
    idx = window_indices(timestamps, end_s=0.3, spec=SPEC)
    assert idx[0] == 0 and idx[-1] > 0
    assert np.all(np.diff(idx) >= 0)


def test_window_ends_cover_the_clip() -> None:
    ends = window_ends(5.0, SPEC, hop_s=0.5)
    assert ends[0] == pytest.approx(SPEC.clip_seconds)
    assert ends[-1] <= 5.0 + 1e-9
    assert 5.0 - ends[-1] < 0.5
    short = window_ends(1.0, SPEC, hop_s=0.5)
    assert list(short) == [1.0]


def test_model_metadata_round_trip_and_refusals() -> None:
    meta = ModelMetadata.for_labels(DEFAULT_LABEL_SET, model_version="v3", input=SPEC)
    again = ModelMetadata.from_properties(meta.to_properties())
    assert again == meta
    assert again.label_set.fall_indices() == [DEFAULT_LABEL_SET.index("falling")]
    with pytest.raises(ModelMetadataError, match="no 'vigil'"):
        ModelMetadata.from_properties({})
    with pytest.raises(ModelMetadataError, match="invalid"):
        ModelMetadata.from_properties({"vigil": '{"labels": ["a"]}'})


def test_label_set_infers_falls_and_refuses_duplicates() -> None:
    upfall = LabelSet.from_names(["fall_backward", "walking", "lying"])
    assert upfall.falls == {"fall_backward"}
    assert upfall.severity("fall_backward") == "critical"
    assert upfall.severity("lying") == "warning"
    with pytest.raises(ValueError, match="duplicate"):
        LabelSet.from_names(["a", "a"])
    with pytest.raises(KeyError, match="zzz"):
        upfall.index("zzz")
