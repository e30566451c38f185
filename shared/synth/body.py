"""The articulated body: random proportions and forward kinematics from a pose.

Body-local axes are (f, l, u): forward, the body's left, up, with the pelvis at the
origin. Sagittal angles turn forward from hanging down; `_tilt` is the one rotation
used for the lean of the torso and the pitch of the whole body.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import IntEnum

import numpy as np

from shared.synth.pose import Pose


class Joint(IntEnum):
    PELVIS = 0
    HIP_L = 1
    HIP_R = 2
    KNEE_L = 3
    KNEE_R = 4
    ANKLE_L = 5
    ANKLE_R = 6
    TOE_L = 7
    TOE_R = 8
    CHEST = 9
    SHOULDER_L = 10
    SHOULDER_R = 11
    ELBOW_L = 12
    ELBOW_R = 13
    WRIST_L = 14
    WRIST_R = 15
    HEAD = 16
    HAIR = 17
    TORSO = 18  # eight torso corners follow: the box the top is drawn from


JOINT_COUNT = Joint.TORSO + 8
SIDES = {"l": 1.0, "r": -1.0}  # sign of the body's left axis


@dataclass(frozen=True)
class BodyShape:
    """Segment lengths and widths in person heights (standing height is 1)."""

    head_r: float = 0.065
    neck: float = 0.03
    torso: float = 0.305
    thigh: float = 0.245
    shin: float = 0.245
    ankle_h: float = 0.04
    foot: float = 0.12
    upper_arm: float = 0.175
    forearm: float = 0.155
    hand_r: float = 0.028
    shoulder_half: float = 0.105
    hip_half: float = 0.055
    pelvis_half: float = 0.1
    chest_depth: float = 0.065
    arm_w: float = 0.05
    thigh_w: float = 0.085
    shin_w: float = 0.06
    neck_w: float = 0.06

    @property
    def standing_height(self) -> float:
        return self.ankle_h + self.shin + self.thigh + self.torso + self.neck + 2 * self.head_r

    @property
    def seat_height(self) -> float:
        """Height of a seat that leaves thighs level and shins upright."""
        return self.ankle_h + self.shin - 0.5 * self.thigh_w


def random_body(rng: np.random.Generator) -> BodyShape:
    """Proportions that vary by build, leg length and head size, rescaled to height 1."""
    build = rng.uniform(0.85, 1.25)
    legs = rng.uniform(0.93, 1.07)
    head = rng.uniform(0.92, 1.1)
    base = BodyShape()
    widths = ("shoulder_half", "pelvis_half", "chest_depth", "arm_w", "thigh_w", "shin_w")
    changed = {name: getattr(base, name) * build for name in widths}
    changed |= {"thigh": base.thigh * legs, "shin": base.shin * legs, "head_r": base.head_r * head}
    shaped = replace(base, **changed)
    scale = 1.0 / shaped.standing_height
    return BodyShape(**{f.name: getattr(shaped, f.name) * scale for f in fields(shaped)})


def _tilt(v: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate (f, l, u) vectors forward by `angle` about the left axis (N, ..., 3)."""
    c = np.cos(angle).reshape(angle.shape + (1,) * (v.ndim - 2))
    s = np.sin(angle).reshape(c.shape)
    f, lat, u = v[..., 0], v[..., 1], v[..., 2]
    return np.stack([f * c + u * s, lat, -f * s + u * c], axis=-1)


def _limb(flex: np.ndarray, abduct: np.ndarray | float, side: float) -> np.ndarray:
    """Unit direction of a limb flexed forward and abducted out to `side` (N, 3)."""
    flex, abduct = np.broadcast_arrays(flex, abduct)
    ca = np.cos(abduct)
    return np.stack([np.sin(flex) * ca, side * np.sin(abduct), -np.cos(flex) * ca], axis=-1)


def _axis(n: int, f: float, lat: float, u: float) -> np.ndarray:
    return np.tile(np.array([f, lat, u]), (n, 1))


def _column(poses: np.ndarray, name: str) -> np.ndarray:
    return poses[:, Pose._fields.index(name)]


def _legs(poses: np.ndarray, body: BodyShape, out: np.ndarray) -> None:
    n = len(poses)
    for key, side in SIDES.items():
        hip_flex, knee = _column(poses, f"hip_{key}"), _column(poses, f"knee_{key}")
        hip = _axis(n, 0.0, side * body.hip_half, 0.0)
        knee_at = hip + body.thigh * _limb(hip_flex, 0.0, side)
        shin = hip_flex - knee
        ankle = knee_at + body.shin * _limb(shin, 0.0, side)
        toe = ankle + body.foot * np.stack([np.cos(shin), np.zeros(n), np.sin(shin)], axis=-1)
        i = 0 if key == "l" else 1  # right joints follow their left twins
        out[:, Joint.HIP_L + i], out[:, Joint.KNEE_L + i] = hip, knee_at
        out[:, Joint.ANKLE_L + i], out[:, Joint.TOE_L + i] = ankle, toe


def _arms(poses: np.ndarray, body: BodyShape, chest: np.ndarray, out: np.ndarray) -> None:
    lean = _column(poses, "lean")
    for key, side in SIDES.items():
        flex, abduct = _column(poses, f"shoulder_{key}"), _column(poses, f"abduct_{key}")
        elbow, wave = _column(poses, f"elbow_{key}"), _column(poses, f"wave_{key}")
        lateral = _tilt(_axis(len(poses), 0.0, side * body.shoulder_half, 0.0), lean)
        shoulder = chest + lateral
        elbow_at = shoulder + body.upper_arm * _tilt(_limb(flex, abduct, side), lean)
        wrist = elbow_at + body.forearm * _tilt(_limb(flex + elbow, abduct + wave, side), lean)
        i = 0 if key == "l" else 1
        out[:, Joint.SHOULDER_L + i], out[:, Joint.ELBOW_L + i] = shoulder, elbow_at
        out[:, Joint.WRIST_L + i] = wrist


def _torso_corners(poses: np.ndarray, body: BodyShape, out: np.ndarray) -> None:
    n, lean = len(poses), _column(poses, "lean")
    levels = (
        (0.0, body.pelvis_half, body.chest_depth),
        (body.torso, body.shoulder_half, 0.9 * body.chest_depth),
    )
    k = int(Joint.TORSO)
    for height, half, depth in levels:
        for df, dl in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
            out[:, k] = _tilt(_axis(n, df * depth, dl * half, height), lean)
            k += 1


def _trunk_and_head(poses: np.ndarray, body: BodyShape, out: np.ndarray) -> np.ndarray:
    n, lean, nod = len(poses), _column(poses, "lean"), _column(poses, "nod")
    chest = _tilt(_axis(n, 0.0, 0.0, body.torso), lean)
    head = chest + _tilt(_axis(n, 0.0, 0.0, body.neck + body.head_r), lean + nod)
    hair_offset = _axis(n, -0.28 * body.head_r, 0.0, 0.22 * body.head_r)
    out[:, Joint.CHEST], out[:, Joint.HEAD] = chest, head
    out[:, Joint.HAIR] = head + _tilt(hair_offset, lean + nod)
    return chest


def joint_radii(body: BodyShape) -> np.ndarray:
    """How far each joint's flesh reaches below it; hands may touch the floor freely."""
    radii = np.zeros(JOINT_COUNT)
    radii[[Joint.HIP_L, Joint.HIP_R, Joint.PELVIS]] = 0.5 * body.thigh_w
    radii[[Joint.KNEE_L, Joint.KNEE_R]] = 0.5 * body.shin_w
    radii[[Joint.ANKLE_L, Joint.ANKLE_R]] = body.ankle_h
    radii[[Joint.TOE_L, Joint.TOE_R]] = 0.6 * body.ankle_h
    radii[[Joint.SHOULDER_L, Joint.SHOULDER_R, Joint.ELBOW_L, Joint.ELBOW_R]] = 0.5 * body.arm_w
    radii[[Joint.HEAD, Joint.HAIR]] = body.head_r
    radii[[Joint.WRIST_L, Joint.WRIST_R]] = -np.inf
    return radii


def local_skeleton(poses: np.ndarray, body: BodyShape) -> np.ndarray:
    """Joints (N, JOINT_COUNT, 3) in body axes, pitched, with the lowest flesh on the floor."""
    out = np.zeros((len(poses), JOINT_COUNT, 3))
    chest = _trunk_and_head(poses, body, out)
    _legs(poses, body, out)
    _arms(poses, body, chest, out)
    _torso_corners(poses, body, out)
    out = _tilt(out, _column(poses, "pitch"))
    lowest = np.min(out[..., 2] - joint_radii(body), axis=1)
    out[..., 2] -= lowest[:, None]
    return out


def world_skeleton(poses: np.ndarray, body: BodyShape, lane_z: float) -> np.ndarray:
    """Joints (N, JOINT_COUNT, 3) as world (X, U, Z) for a pelvis walking the lane at lane_z."""
    local = local_skeleton(poses, body)
    yaw = _column(poses, "yaw")[:, None]
    f, lat, u = local[..., 0], local[..., 1], local[..., 2]
    x = _column(poses, "x")[:, None] + f * np.cos(yaw) + lat * np.sin(yaw)
    z = lane_z - f * np.sin(yaw) + lat * np.cos(yaw)
    return np.stack([x, u, z], axis=-1)
