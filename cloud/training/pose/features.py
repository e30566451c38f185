"""A window of a landmark track -> the skeleton classifier's input (channels, T).

Three kinds of channels per sampled instant:

- the pose: 13 body joints, centred on the hips and scaled by the torso, from MediaPipe's
  3D world landmarks (`world`: metric, hip-centred, the same body whatever the camera's
  distance), the image-plane landmarks (`image`), or both;
- where the hips go: their vertical path and speed in torso lengths (a fall drops them);
- fall physics, written out rather than left to a few dozen clips to discover: torso
  tilt from vertical and how fast it changes, the body's vertical extent, whether the
  torso is horizontal and for how long so far, the aspect of the body's box.

Frames where MediaPipe found no person are zeros with `present = 0`; nothing is invented.
Hip centring and torso scaling make every channel independent of where the person stands
in the frame and how far from the camera.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cloud.training.augment import AugmentDraw, affine_matrix
from cloud.training.pose.extract import PoseTrack
from cloud.training.pose.skeleton import (
    BODY_JOINTS,
    LEFT_HIP,
    LEFT_SHOULDER,
    MIRROR_ORDER,
    RIGHT_HIP,
    RIGHT_SHOULDER,
)
from shared.preprocess import InputSpec, window_indices

FEATURE_SETS = ("world", "image", "both")
# Beyond this tilt (degrees from vertical) the torso counts as horizontal.
HORIZONTAL_DEG = 60.0
PHYSICS_CHANNELS = 8  # hip y, hip vy, tilt, tilt rate, extent, horizontal, time horizontal, aspect
_EPS = 1e-6
# Joints the augmentation never drops: the hips and shoulders anchor the normalisation.
_ANCHORS = frozenset((LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP))


@dataclass(frozen=True)
class PoseFeatureSpec:
    """Which pose channels the classifier reads; saved in the teacher's checkpoint."""

    features: str = "world"

    def __post_init__(self) -> None:
        if self.features not in FEATURE_SETS:
            raise ValueError(f"pose features must be one of {FEATURE_SETS}, got {self.features!r}")

    @property
    def channels(self) -> int:
        joints = len(BODY_JOINTS)
        pose = {"world": 3 * joints, "image": 2 * joints, "both": 5 * joints}[self.features]
        return pose + joints + 1 + PHYSICS_CHANNELS  # + visibility + present + physics


@dataclass(frozen=True)
class PoseAugmentSpec:
    """Skeleton-only augmentation ranges (the pixel draw's crop, rotation and flip apply too)."""

    max_yaw_deg: float = 180.0  # about the vertical axis: a camera elsewhere in the room
    max_pitch_deg: float = 15.0  # camera tilt
    scale: tuple[float, float] = (0.85, 1.15)
    joint_dropout: float = 0.1  # per joint and window: parts out of frame or hidden
    time_shift_s: float = 0.1  # temporal jitter of the whole window


@dataclass(frozen=True)
class PoseDraw:
    yaw_deg: float
    pitch_deg: float
    scale: float
    dropped: tuple[int, ...]
    shift_s: float


def draw_pose_augment(rng: np.random.Generator, spec: PoseAugmentSpec) -> PoseDraw:
    droppable = [j for j in BODY_JOINTS if j not in _ANCHORS]
    dropped = tuple(j for j in droppable if rng.random() < spec.joint_dropout)
    return PoseDraw(
        yaw_deg=float(rng.uniform(-spec.max_yaw_deg, spec.max_yaw_deg)),
        pitch_deg=float(rng.uniform(-spec.max_pitch_deg, spec.max_pitch_deg)),
        scale=float(rng.uniform(*spec.scale)),
        dropped=dropped,
        shift_s=float(rng.uniform(-spec.time_shift_s, spec.time_shift_s)),
    )


@dataclass
class WindowLandmarks:
    """The landmarks of one window's T instants (pixels for `image`, metres for `world`)."""

    image: np.ndarray  # (T, 33, 2)
    world: np.ndarray  # (T, 33, 3)
    visibility: np.ndarray  # (T, 33)
    present: np.ndarray  # (T,)


def window_landmarks(track: PoseTrack, end_s: float, spec: InputSpec) -> WindowLandmarks:
    """Sample a track on the window's time grid (`shared.preprocess.window_indices`)."""
    picks = window_indices(track.timestamps, end_s, spec)
    size = np.array([track.width, track.height], np.float32)
    return WindowLandmarks(
        image=track.image[picks, :, :2] * size,
        world=track.world[picks].copy(),
        visibility=track.visibility[picks].copy(),
        present=track.present[picks].copy(),
    )


def follow_pixel_augment(
    marks: WindowLandmarks, draw: AugmentDraw, width: int, height: int
) -> WindowLandmarks:
    """Move the landmarks as the window's pixels move (crop, rotation, flip), one draw."""
    matrix = affine_matrix(draw, width, height)
    image = marks.image @ matrix[:, :2].T + matrix[:, 2]
    world, visibility = marks.world, marks.visibility
    if draw.flip:
        # The mirrored body's left side is where its right was: swap the labels too.
        order = list(MIRROR_ORDER)
        image, visibility = image[:, order], visibility[:, order]
        world = world[:, order] * np.array([-1.0, 1.0, 1.0], np.float32)
    return WindowLandmarks(image, world, visibility, marks.present)


def apply_pose_augment(marks: WindowLandmarks, draw: PoseDraw) -> WindowLandmarks:
    """Turn the 3D body about the vertical axis and tilt it (a new camera), scale, drop joints."""
    yaw, pitch = np.radians(draw.yaw_deg), np.radians(draw.pitch_deg)
    # MediaPipe's world axes follow the camera: y points down, so "vertical" is y.
    about_y = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    about_x = np.array(
        [[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]]
    )
    rotation = (about_x @ about_y).astype(np.float32)
    world = marks.world @ rotation.T * np.float32(draw.scale)
    image, visibility = marks.image.copy(), marks.visibility.copy()
    if draw.dropped:
        dropped = list(draw.dropped)
        world[:, dropped], image[:, dropped], visibility[:, dropped] = 0.0, 0.0, 0.0
    return WindowLandmarks(image, world, visibility, marks.present)


@dataclass
class NormalisedPose:
    joints: np.ndarray  # (T, J, D): joint minus that frame's hip centre, over the torso length
    hips: np.ndarray  # (T, D): hip centre minus its window mean, over the torso length
    valid: np.ndarray  # (T,) bool: a person, with a measurable torso
    scale: float  # the window's torso length (median over valid frames); 0 if none


def normalise_pose(points: np.ndarray, present: np.ndarray) -> NormalisedPose:
    """Centre every frame on the hips, scale the window by its median torso length.

    Shifting or scaling all points of a window (the person elsewhere in the frame, or
    nearer the camera) leaves the result unchanged. Frames without a person stay zero.
    """
    hips = points[:, [LEFT_HIP, RIGHT_HIP]].mean(axis=1)
    shoulders = points[:, [LEFT_SHOULDER, RIGHT_SHOULDER]].mean(axis=1)
    torso = np.linalg.norm(shoulders - hips, axis=-1)
    valid = present.astype(bool) & (torso > _EPS)
    if not valid.any():
        zeros = np.zeros_like(points, dtype=np.float32)
        return NormalisedPose(zeros, np.zeros_like(hips, np.float32), valid, 0.0)
    scale = float(np.median(torso[valid]))
    joints = (points - hips[:, None]) / scale
    centred_hips = (hips - hips[valid].mean(axis=0)) / scale
    joints[~valid], centred_hips[~valid] = 0.0, 0.0
    return NormalisedPose(joints.astype(np.float32), centred_hips.astype(np.float32), valid, scale)


def torso_tilt(points: np.ndarray) -> np.ndarray:
    """Angle of the hips->shoulders line from straight up, radians (y axis points down)."""
    hips = points[:, [LEFT_HIP, RIGHT_HIP]].mean(axis=1)
    shoulders = points[:, [LEFT_SHOULDER, RIGHT_SHOULDER]].mean(axis=1)
    torso = shoulders - hips
    length = np.maximum(np.linalg.norm(torso, axis=-1), _EPS)
    return np.arccos(np.clip(-torso[:, 1] / length, -1.0, 1.0))


def rate(values: np.ndarray, valid: np.ndarray, dt: float) -> np.ndarray:
    """Backward difference per second; 0 where this frame or the previous has no person."""
    out = np.zeros_like(values, dtype=np.float32)
    both = valid[1:] & valid[:-1]
    out[1:][both] = (values[1:] - values[:-1])[both] / dt
    return out


def fall_physics(image: NormalisedPose, body: NormalisedPose, dt: float) -> np.ndarray:
    """(T, 8): hip height and downward speed, tilt and its rate, extent, time horizontal."""
    valid = body.valid
    tilt = np.where(valid, torso_tilt(body.joints), 0.0).astype(np.float32)
    horizontal = (valid & (tilt > np.radians(HORIZONTAL_DEG))).astype(np.float32)
    joints = body.joints[:, list(BODY_JOINTS)]
    extent = np.where(valid, joints[..., 1].max(axis=1) - joints[..., 1].min(axis=1), 0.0)
    flat = image.joints[:, list(BODY_JOINTS)]
    width = flat[..., 0].max(axis=1) - flat[..., 0].min(axis=1)
    height = flat[..., 1].max(axis=1) - flat[..., 1].min(axis=1)
    aspect = np.where(image.valid, np.log((height + 0.1) / (width + 0.1)), 0.0)
    hip_y = image.hips[:, 1]  # image y points down: positive = lower than the window's mean
    columns = [
        hip_y,
        rate(hip_y, image.valid, dt),
        tilt / np.float32(np.pi / 2),
        rate(tilt, valid, dt),
        extent,
        horizontal,
        np.cumsum(horizontal) * dt,
        aspect,
    ]
    return np.clip(np.stack(columns, axis=1), -20.0, 20.0).astype(np.float32)


def pose_features(marks: WindowLandmarks, spec: PoseFeatureSpec, dt: float) -> np.ndarray:
    """The classifier's input (channels, T), float32, finite even with nobody in view."""
    present = marks.present.astype(bool)
    image = normalise_pose(marks.image, present)
    world = normalise_pose(marks.world, present)
    joints = list(BODY_JOINTS)
    parts: list[np.ndarray] = []
    if spec.features in ("world", "both"):
        parts.append(world.joints[:, joints].reshape(len(present), -1))
    if spec.features in ("image", "both"):
        parts.append(image.joints[:, joints].reshape(len(present), -1))
    body = image if spec.features == "image" else world
    visibility = np.where(present[:, None], marks.visibility[:, joints], 0.0)
    parts += [visibility, present[:, None].astype(np.float32), fall_physics(image, body, dt)]
    features = np.concatenate(parts, axis=1).astype(np.float32)
    return np.ascontiguousarray(np.nan_to_num(features).T)
