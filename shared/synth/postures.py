"""Resting postures (standing, seated, lying) and the moves between them.

Actions chain: each starts from whatever pose the previous one ended in. When an action
needs another posture first (walking after lying on the floor), these transitions get
the person there without a jump.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from shared.synth.body import BodyShape
from shared.synth.pose import Pose, Track
from shared.synth.room import Stage

HALF_PI = np.pi / 2


class Posture(Enum):
    STANDING = "standing"
    SEATED = "seated"
    LYING = "lying"


@dataclass(frozen=True)
class Setting:
    """Who acts where: the body (for seat geometry) and the stage (lane and chair)."""

    body: BodyShape
    stage: Stage
    speed: float  # walking speed, person heights per second
    stoop: float  # habitual forward lean of the torso


def posture_of(pose: Pose) -> Posture:
    if abs(pose.pitch) > 0.9:
        return Posture.LYING
    if 0.5 * (pose.hip_l + pose.hip_r) > 0.9:
        return Posture.SEATED
    return Posture.STANDING


def forward(pose: Pose) -> float:
    """How far the pelvis moves across the screen per unit walked forward."""
    return float(np.cos(pose.yaw))


def facing(yaw: float, towards: float) -> float:
    """The yaw equal to `towards` (mod 2 pi) nearest to `yaw`: the shorter way round."""
    return float(yaw + (towards - yaw + np.pi) % (2 * np.pi) - np.pi)


def side_on(yaw: float) -> float:
    """`yaw`, or the nearest yaw seen from the side: a body lies across the view, not at it."""
    if abs(np.cos(yaw)) >= 0.7:
        return yaw
    return facing(yaw, 0.0 if np.cos(yaw) >= 0 else np.pi)


def standing(x: float, yaw: float, stoop: float = 0.0) -> Pose:
    return Pose(x=x, yaw=yaw, lean=stoop, nod=-0.5 * stoop, shoulder_l=0.05, shoulder_r=-0.03,
                elbow_l=0.2 + stoop, elbow_r=0.2 + stoop)


def seated(stage: Stage) -> Pose:
    return Pose(x=stage.seat_x, yaw=stage.seat_yaw, lean=0.08, hip_l=1.55, hip_r=1.5,
                knee_l=1.5, knee_r=1.42, shoulder_l=0.35, shoulder_r=0.3, elbow_l=0.9,
                elbow_r=0.95)


def lying(x: float, yaw: float, face_up: bool, rng: np.random.Generator) -> Pose:
    """On the floor, limbs resting a little differently every time."""
    if face_up:  # knees may be drawn up; arms lie along the body
        pitch, hips, knees = -HALF_PI, rng.uniform(0.0, 0.5, 2), rng.uniform(0.05, 0.9, 2)
        arms = rng.uniform(0.0, 0.4)
    else:  # hips straight (a bent hip would push the knee into the floor); arms down or ahead
        pitch, hips, knees = HALF_PI, rng.uniform(-0.15, 0.05, 2), rng.uniform(0.05, 0.4, 2)
        arms = rng.uniform(0.0, 0.4) if rng.random() < 0.5 else rng.uniform(2.4, 2.9)
    return Pose(
        x=x, yaw=yaw, pitch=pitch, lean=rng.uniform(-0.05, 0.1), nod=rng.uniform(-0.1, 0.2),
        hip_l=hips[0], hip_r=hips[1], knee_l=knees[0], knee_r=knees[1], shoulder_l=arms,
        shoulder_r=arms + rng.uniform(-0.3, 0.3), abduct_l=rng.uniform(0.1, 0.6),
        abduct_r=rng.uniform(0.1, 0.6), elbow_l=rng.uniform(0.1, 0.8),
        elbow_r=rng.uniform(0.1, 0.8),
    )


def stand_spot(setting: Setting) -> float:
    """Pelvis X standing in front of the chair, ready to sit: feet where the knees go."""
    return setting.stage.seat_x + np.cos(setting.stage.seat_yaw) * 0.85 * setting.body.thigh


def rise_from_seat(track: Track, setting: Setting, pace: float = 1.0) -> None:
    """Lean forward, bring the weight over the feet, straighten up."""
    start = track.last
    end_x = start.x + forward(start) * 0.85 * setting.body.thigh
    track.to(0.45 * pace, lean=0.8, nod=-0.3, shoulder_l=0.6, shoulder_r=0.6, elbow_l=0.4,
             elbow_r=0.4, hip_l=1.6, hip_r=1.6, knee_l=1.65, knee_r=1.6)
    track.to(0.5 * pace, x=start.x + forward(start) * 0.5 * setting.body.thigh, lean=0.75,
             hip_l=0.95, hip_r=0.95, knee_l=1.0, knee_r=1.0)
    track.to_pose(0.6 * pace, standing(end_x, start.yaw, setting.stoop))


def sit_on_seat(track: Track, setting: Setting, pace: float = 1.0) -> None:
    """Lower onto the chair behind: lean forward, bend, settle back."""
    start = track.last
    mid_x = 0.5 * (start.x + setting.stage.seat_x)
    track.to(0.5 * pace, lean=0.55, nod=-0.25, hip_l=0.7, hip_r=0.7, knee_l=0.8, knee_r=0.8,
             shoulder_l=0.5, shoulder_r=0.5, elbow_l=0.5, elbow_r=0.5, x=mid_x)
    track.to(0.5 * pace, lean=0.45, hip_l=1.3, hip_r=1.3, knee_l=1.35, knee_r=1.3,
             x=setting.stage.seat_x)
    track.to_pose(0.5 * pace, seated(setting.stage)._replace(yaw=start.yaw))


def get_up_from_floor(track: Track, setting: Setting, pace: float = 1.0) -> None:
    """Onto hands and knees, into a crouch, then up."""
    start = track.last
    if start.pitch < 0:  # face up: sit up first
        track.to(0.6 * pace, pitch=-0.3, lean=0.5, hip_l=1.5, hip_r=1.5, knee_l=1.3,
                 knee_r=1.4, shoulder_l=0.8, shoulder_r=0.8)
    track.to(0.6 * pace, pitch=HALF_PI * 0.9, lean=0.0, hip_l=1.5, hip_r=1.5, knee_l=1.6,
             knee_r=1.6, shoulder_l=1.5, shoulder_r=1.5, abduct_l=0.1, abduct_r=0.1)
    track.to(0.6 * pace, pitch=0.2, lean=0.5, hip_l=1.8, hip_r=1.2, knee_l=2.2, knee_r=1.7,
             shoulder_l=0.9, shoulder_r=0.7)
    track.to_pose(0.7 * pace, standing(start.x, start.yaw, setting.stoop))


def lie_down(track: Track, rng: np.random.Generator, pace: float = 1.0) -> None:
    """Kneel, go onto hands and knees, lie down face down."""
    start = track.last
    track.to(0.6 * pace, lean=0.3, hip_l=0.2, hip_r=0.2, knee_l=1.6, knee_r=1.6,
             shoulder_l=0.6, shoulder_r=0.6)
    track.to(0.6 * pace, pitch=HALF_PI, lean=0.0, hip_l=1.5, hip_r=1.5, knee_l=1.55,
             knee_r=1.55, shoulder_l=1.5, shoulder_r=1.5)
    track.to_pose(0.7 * pace, lying(start.x, side_on(start.yaw), face_up=False, rng=rng))


def relax_arms(track: Track) -> None:
    """Lower a raised arm (a wave that ended up high) before doing something else."""
    rest, here = standing(0.0, 0.0), track.last
    raised = ("abduct_l", "abduct_r", "wave_l", "wave_r")
    if max(abs(getattr(here, c) - getattr(rest, c)) for c in raised) > 0.3:
        arms = ("shoulder_l", "shoulder_r", "elbow_l", "elbow_r") + raised
        track.to(0.4, **{c: getattr(rest, c) for c in arms})


def get_to(track: Track, setting: Setting, needed: Posture, rng: np.random.Generator) -> None:
    """Stand up or lie down quickly if the track is not in `needed` already."""
    now = posture_of(track.last)
    if now == needed:
        return
    if needed == Posture.LYING:
        lie_down(track, rng, 0.7)
    elif needed == Posture.STANDING:
        (rise_from_seat if now == Posture.SEATED else get_up_from_floor)(track, setting, 0.7)
    else:
        raise ValueError("sitting needs the chair: see actions.sitting_down")
