"""Poses of the synthetic figure and smooth motion through keyframes.

A pose is a flat tuple of floats (angles in radians, positions in person heights) so a
motion is simply a (K, P) array of keyframes interpolated channel by channel.
Interpolation is monotone cubic (PCHIP, Fritsch & Carlson 1980, SIAM J. Numer. Anal.
17(2)): it never overshoots a held keyframe, straight runs stay straight (walking
translation keeps a constant speed) and alternating keyframes become smooth swings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

MIN_STEP_S = 1e-3


class Pose(NamedTuple):
    """Joint angles and root placement; sagittal angles are measured from hanging down."""

    x: float = 0.0  # pelvis across the room, world units (+ = screen right)
    yaw: float = 0.0  # facing: 0 = screen right, pi/2 = the camera, pi = screen left
    pitch: float = 0.0  # whole body about the pelvis: +pi/2 face down, -pi/2 face up
    lean: float = 0.0  # torso flexion at the hips, forward
    nod: float = 0.0  # head flexion
    hip_l: float = 0.0  # thigh flexion, forward
    hip_r: float = 0.0
    knee_l: float = 0.05  # knee flexion, the foot goes back
    knee_r: float = 0.05
    shoulder_l: float = 0.0  # upper-arm flexion relative to the torso, forward
    shoulder_r: float = 0.0
    abduct_l: float = 0.08  # upper-arm abduction, out to the side
    abduct_r: float = 0.08
    elbow_l: float = 0.15  # forearm flexion added to the upper arm's
    elbow_r: float = 0.15
    wave_l: float = 0.0  # forearm abduction added to the upper arm's (the waving hand)
    wave_r: float = 0.0


POSE_SIZE = len(Pose._fields)


@dataclass(frozen=True)
class Keyframes:
    """A motion: poses at increasing times (seconds from the motion's start)."""

    times: np.ndarray  # (K,)
    poses: np.ndarray  # (K, POSE_SIZE)

    @property
    def duration(self) -> float:
        return float(self.times[-1])

    @property
    def end(self) -> Pose:
        return Pose(*(float(v) for v in self.poses[-1]))


class Track:
    """Builds keyframes step by step: each step moves some channels, the rest hold."""

    def __init__(self, start: Pose) -> None:
        self._times = [0.0]
        self._poses = [start]

    @property
    def last(self) -> Pose:
        return self._poses[-1]

    @property
    def t(self) -> float:
        return self._times[-1]

    def to(self, dt: float, **changes: float) -> Track:
        """Reach the last pose with `changes` applied, `dt` seconds later."""
        return self.to_pose(dt, self.last._replace(**changes))

    def to_pose(self, dt: float, pose: Pose) -> Track:
        self._times.append(self.t + max(dt, MIN_STEP_S))
        self._poses.append(pose)
        return self

    def hold(self, dt: float) -> Track:
        return self.to(dt)

    def fit(self, seconds: float) -> Keyframes:
        """The keyframes lasting exactly `seconds`: held at the end, or played faster."""
        times = np.asarray(self._times, dtype=np.float64)
        poses = np.asarray(self._poses, dtype=np.float64)
        if times[-1] > seconds:
            times = times * (seconds / times[-1])
        elif times[-1] < seconds:
            times = np.append(times, seconds)
            poses = np.vstack([poses, poses[-1]])
        return Keyframes(times=times, poses=poses)


def still(pose: Pose, seconds: float) -> Keyframes:
    """A motion that holds one pose."""
    return Track(pose).fit(seconds)


def chain(motions: list[Keyframes]) -> Keyframes:
    """Play motions one after another; each must start where the previous one ended."""
    times = [motions[0].times]
    poses = [motions[0].poses]
    offset = motions[0].duration
    for motion in motions[1:]:
        times.append(motion.times[1:] + offset)
        poses.append(motion.poses[1:])
        offset += motion.duration
    return Keyframes(times=np.concatenate(times), poses=np.vstack(poses))


def _pchip_slopes(h: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Fritsch-Carlson slopes: zero at local extrema, weighted harmonic mean elsewhere."""
    slopes = np.empty((delta.shape[0] + 1, delta.shape[1]))
    slopes[0], slopes[-1] = delta[0], delta[-1]
    if delta.shape[0] < 2:
        return slopes
    left, right = delta[:-1], delta[1:]
    w1 = (2 * h[1:] + h[:-1])[:, None]
    w2 = (h[1:] + 2 * h[:-1])[:, None]
    same_sign = left * right > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        harmonic = (w1 + w2) / (w1 / left + w2 / right)
    slopes[1:-1] = np.where(same_sign, harmonic, 0.0)
    return slopes


def sample(motion: Keyframes, at: np.ndarray) -> np.ndarray:
    """Poses (N, POSE_SIZE) at the times `at`, clamped to the motion's span."""
    t, y = motion.times, motion.poses
    if len(t) == 1:
        return np.repeat(y, len(at), axis=0)
    h = np.diff(t)
    delta = np.diff(y, axis=0) / h[:, None]
    m = _pchip_slopes(h, delta)
    i = np.clip(np.searchsorted(t, at, side="right") - 1, 0, len(t) - 2)
    s = np.clip((at - t[i]) / h[i], 0.0, 1.0)[:, None]
    h00 = 2 * s**3 - 3 * s**2 + 1
    h10 = s**3 - 2 * s**2 + s
    h01 = -2 * s**3 + 3 * s**2
    h11 = s**3 - s**2
    return h00 * y[i] + h10 * h[i, None] * m[i] + h01 * y[i + 1] + h11 * h[i, None] * m[i + 1]
