"""Skeleton features of the pose teacher on plain arrays: normalisation, augmentation, physics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cloud.training.augment import IDENTITY, AugmentDraw
from cloud.training.checkpoint import Checkpoint, CheckpointError, from_payload, to_payload
from cloud.training.networks import build_model, count_macs
from cloud.training.pose.extract import PoseTrack
from cloud.training.pose.features import (
    PoseDraw,
    PoseFeatureSpec,
    WindowLandmarks,
    apply_pose_augment,
    follow_pixel_augment,
    normalise_pose,
    pose_features,
    torso_tilt,
    window_landmarks,
)
from cloud.training.pose.model import pose_teacher_config
from cloud.training.pose.skeleton import LEFT_HIP, MIRROR_ORDER, NUM_LANDMARKS, RIGHT_HIP
from shared.labels import LabelSet
from shared.modelmeta import ModelMetadata
from shared.preprocess import InputSpec

LEFT_WRIST, RIGHT_WRIST = 15, 16
SPEC = InputSpec(frames=8, height=32, width=32, clip_seconds=1.6)


def standing_body(frames: int = 8, seed: int = 0) -> np.ndarray:
    """(T, 33, 3) world-like points: hips at 0, shoulders 0.5 m above (y points down)."""
    rng = np.random.default_rng(seed)
    points = rng.normal(0.0, 0.3, (frames, NUM_LANDMARKS, 3)).astype(np.float32)
    points[:, [LEFT_HIP, RIGHT_HIP]] = [[-0.1, 0.0, 0.0], [0.1, 0.0, 0.0]]
    points[:, [11, 12]] = [[-0.15, -0.5, 0.0], [0.15, -0.5, 0.0]]
    return points


def test_normalisation_ignores_where_the_person_is_and_how_far() -> None:
    points = standing_body()[..., :2] * 200 + 300
    present = np.ones(len(points), bool)
    base = normalise_pose(points, present)
    moved = normalise_pose(points * 0.37 + np.array([123.0, -45.0], np.float32), present)
    np.testing.assert_allclose(moved.joints, base.joints, atol=1e-4)
    np.testing.assert_allclose(moved.hips, base.hips, atol=1e-4)
    assert moved.scale == pytest.approx(base.scale * 0.37, rel=1e-5)


def test_frames_without_a_person_stay_zero_and_an_empty_window_is_finite() -> None:
    points = standing_body()
    present = np.array([True, False] * 4)
    result = normalise_pose(points, present)
    assert not result.joints[~present].any() and result.joints[present].any()
    nobody = WindowLandmarks(
        np.zeros((8, NUM_LANDMARKS, 2), np.float32),
        np.zeros((8, NUM_LANDMARKS, 3), np.float32),
        np.zeros((8, NUM_LANDMARKS), np.float32),
        np.zeros(8, bool),
    )
    spec = PoseFeatureSpec("both")
    features = pose_features(nobody, spec, dt=0.2)
    assert features.shape == (spec.channels, 8)
    assert np.isfinite(features).all() and not features.any()


def test_a_flip_moves_landmarks_with_the_pixels_and_swaps_left_and_right() -> None:
    width, height = 640, 480
    image = np.random.default_rng(1).uniform(0, 400, (8, NUM_LANDMARKS, 2)).astype(np.float32)
    world = standing_body()
    marks = WindowLandmarks(image, world, np.ones((8, NUM_LANDMARKS), np.float32), np.ones(8, bool))
    flip = AugmentDraw((0.0, 0.0, 1.0, 1.0), angle_deg=0.0, flip=True, brightness=0, contrast=1)
    flipped = follow_pixel_augment(marks, flip, width, height)
    # The pixel at x lands at width - 1 - x (cloud.training.augment): the left wrist is now
    # the right.
    assert flipped.image[:, LEFT_WRIST, 0] == pytest.approx(width - 1 - image[:, RIGHT_WRIST, 0])
    assert flipped.image[:, LEFT_WRIST, 1] == pytest.approx(image[:, RIGHT_WRIST, 1])
    assert flipped.world[:, LEFT_WRIST, 0] == pytest.approx(-world[:, RIGHT_WRIST, 0])
    assert sorted(MIRROR_ORDER) == list(range(NUM_LANDMARKS))
    same = follow_pixel_augment(marks, IDENTITY, width, height)
    np.testing.assert_allclose(same.image, image, atol=1e-4)


def test_turning_the_body_about_the_vertical_keeps_height_and_tilt() -> None:
    marks = WindowLandmarks(
        np.zeros((8, NUM_LANDMARKS, 2), np.float32),
        standing_body(),
        np.ones((8, NUM_LANDMARKS), np.float32),
        np.ones(8, bool),
    )
    turned = apply_pose_augment(marks, PoseDraw(90.0, 0.0, 1.0, (13,), 0.0))
    np.testing.assert_allclose(turned.world[..., 1][:, 11], marks.world[..., 1][:, 11], atol=1e-5)
    np.testing.assert_allclose(torso_tilt(turned.world), torso_tilt(marks.world), atol=1e-5)
    assert turned.visibility[:, 13].max() == 0.0 and not turned.world[:, 13].any()


def test_fall_physics_see_the_torso_go_horizontal_and_the_hips_drop() -> None:
    frames = 8
    world = standing_body(frames)
    image = np.zeros((frames, NUM_LANDMARKS, 2), np.float32)
    for t, angle in enumerate(np.linspace(0.0, np.pi / 2, frames)):
        # The torso turns from upright to lying; in the image the hips move 100 px down.
        shoulder = np.array([np.sin(angle), -np.cos(angle), 0.0]) * 0.5
        world[t, [11, 12]] = shoulder
        image[t] = 300 + 100 * t / (frames - 1)
        image[t, [11, 12]] = image[t, 0] + shoulder[:2] * 200
        image[t, [LEFT_HIP, RIGHT_HIP]] = image[t, 0]
    marks = WindowLandmarks(image, world, np.ones((frames, NUM_LANDMARKS), np.float32),
                            np.ones(frames, bool))  # fmt: skip
    spec = PoseFeatureSpec("world")
    physics = pose_features(marks, spec, dt=0.2)[-8:]  # the physics channels come last
    hip_y, hip_speed, tilt, _, _, horizontal, time_horizontal, _ = physics
    assert hip_y[-1] > hip_y[0] and (hip_speed[1:] > 0).all()
    assert tilt[0] == pytest.approx(0.0, abs=1e-4) and tilt[-1] == pytest.approx(1.0, abs=1e-4)
    assert horizontal[0] == 0 and horizontal[-1] == 1 and time_horizontal[-1] > 0


def test_window_landmarks_follow_the_window_time_grid() -> None:
    frames = 40
    track = PoseTrack(
        image=np.tile(np.arange(frames, dtype=np.float32)[:, None, None], (1, NUM_LANDMARKS, 3)),
        world=np.zeros((frames, NUM_LANDMARKS, 3), np.float32),
        visibility=np.ones((frames, NUM_LANDMARKS), np.float32),
        present=np.ones(frames, bool),
        fps=10.0,
        width=1,
        height=1,
        ms_per_frame=20.0,
    )
    marks = window_landmarks(track, end_s=3.0, spec=SPEC)
    # 8 instants over 1.6 s ending at 3.0 s: frames 16, 18, ..., 30 at 10 fps.
    assert marks.image[:, 0, 0].tolist() == list(range(16, 31, 2))


def test_the_skeleton_classifier_runs_counts_and_checkpoints_like_the_others() -> None:
    spec = PoseFeatureSpec("world")
    cfg = pose_teacher_config(num_classes=3, frames=16, features=spec.channels)
    model = build_model(cfg).eval()
    x = torch.zeros((2, *cfg.input_shape))
    assert model(x).shape == (2, 3)
    assert count_macs(model, (1, *cfg.input_shape)) > 0
    labels = LabelSet.from_names(["falling", "sitting", "walking"])
    teacher_spec = InputSpec(frames=16, height=112, width=112)
    metadata = ModelMetadata.for_labels(labels, model_version="t", input=teacher_spec)
    ckpt = Checkpoint("teacher", cfg, model.state_dict(), metadata, {"teacher_kind": "pose"})
    again = from_payload(to_payload(ckpt))
    assert again.model_config == cfg
    with pytest.raises(CheckpointError, match="frames"):
        Checkpoint("teacher", cfg, {}, metadata.model_copy(update={"input": InputSpec()}), {})
