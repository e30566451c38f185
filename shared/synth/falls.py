"""Falls: a trip forward, a slip backward, a collapse, or sliding off a chair.

Each ends lying on the floor within about a second of losing balance. The keyframes
speed up towards the impact (most of the drop happens in the last half), which is how
a fall differs from lying down on purpose.
"""

from __future__ import annotations

import numpy as np

from shared.synth.pose import Track
from shared.synth.postures import HALF_PI, Setting, forward, lying, side_on
from shared.synth.room import Stage

ROOM_TO_FALL = 0.55  # pelvis travel of a full-length fall, person heights
LANDING_INSET = 0.15


def _landing(stage: Stage, x: float) -> float:
    """Where the pelvis lands: far enough from the lane's ends for the head to stay in view."""
    return float(np.clip(x, stage.x_min + LANDING_INSET, stage.x_max - LANDING_INSET))


def _trip_forward(track: Track, fall_s: float, stage: Stage, rng: np.random.Generator) -> None:
    s, ahead = track.last, forward(track.last)
    track.to(0.2 * fall_s, lean=0.25, hip_r=0.45, knee_r=0.2, hip_l=-0.2, knee_l=0.3,
             shoulder_l=0.9, shoulder_r=0.9, abduct_l=0.3, abduct_r=0.3, x=s.x + ahead * 0.08)
    track.to(0.4 * fall_s, pitch=0.6, lean=0.3, hip_r=0.35, hip_l=-0.1, knee_r=0.4,
             knee_l=0.6, shoulder_l=1.6, shoulder_r=1.5, elbow_l=0.3, elbow_r=0.3,
             x=s.x + ahead * 0.25)
    end = lying(_landing(stage, s.x + ahead * ROOM_TO_FALL), side_on(s.yaw), face_up=False, rng=rng)
    track.to_pose(0.4 * fall_s, end._replace(nod=-0.25, shoulder_l=rng.uniform(1.8, 2.7),
                                             shoulder_r=rng.uniform(1.8, 2.7)))


def _slip_backward(track: Track, fall_s: float, stage: Stage, rng: np.random.Generator) -> None:
    s, ahead = track.last, forward(track.last)
    track.to(0.2 * fall_s, lean=-0.1, hip_l=0.6, knee_l=0.1, shoulder_l=0.8, shoulder_r=0.8,
             abduct_l=0.6, abduct_r=0.6, x=s.x - ahead * 0.02)
    track.to(0.4 * fall_s, pitch=-0.6, lean=0.35, hip_l=0.9, hip_r=0.5, knee_l=0.4,
             knee_r=0.8, shoulder_l=1.2, shoulder_r=1.0, abduct_l=0.9, abduct_r=0.9,
             x=s.x - ahead * 0.2)
    landing = _landing(stage, s.x - ahead * 0.9 * ROOM_TO_FALL)
    end = lying(landing, side_on(s.yaw), face_up=True, rng=rng)
    track.to_pose(0.4 * fall_s, end._replace(nod=0.25))


def _collapse(track: Track, fall_s: float, stage: Stage, rng: np.random.Generator) -> None:
    s, ahead = track.last, forward(track.last)
    face_up = bool(rng.random() < 0.5)
    track.to(0.45 * fall_s, knee_l=1.6, knee_r=1.5, hip_l=0.4, hip_r=0.35, lean=0.3, nod=0.35,
             shoulder_l=0.4, shoulder_r=0.3)
    side = -1.0 if face_up else 1.0
    landing = _landing(stage, s.x + side * ahead * 0.6 * ROOM_TO_FALL)
    end = lying(landing, side_on(s.yaw), face_up=face_up, rng=rng)
    curled = {"hip_l": 0.6, "knee_l": 1.0} if face_up else {"knee_l": 0.7}  # knees stay bent
    track.to_pose(0.55 * fall_s, end._replace(pitch=side * HALF_PI, **curled))


def _clear_run(stage: Stage, x: float) -> tuple[float, float]:
    """Free floor to the right and to the left of x: to the lane's end or hidden floor."""
    right, left = stage.x_max - x, x - stage.x_min
    for lo, hi in stage.hidden:
        if lo > x:
            right = min(right, lo - x)
        if hi < x:
            left = min(left, x - hi)
    return right, left


def fall_from_standing(track: Track, setting: Setting, rng: np.random.Generator) -> None:
    """One of three falls, in a direction with room to land in view."""
    here = track.last
    right, left = _clear_run(setting.stage, here.x)
    ahead, behind = (right, left) if forward(here) >= 0 else (left, right)
    falls = [_collapse]
    if ahead > 0.25:
        falls.append(_trip_forward)
    if behind > 0.25:
        falls.append(_slip_backward)
    fall = falls[rng.integers(len(falls))]
    fall(track, rng.uniform(0.55, 0.95), setting.stage, rng)
    track.to(0.15, nod=track.last.nod + 0.15)  # the head settles after the impact


def fall_from_seat(track: Track, setting: Setting, rng: np.random.Generator) -> None:
    """Slump forward off the chair onto the floor in front of it."""
    s, ahead = track.last, forward(track.last)
    track.to(0.3, lean=0.7, nod=0.4, shoulder_l=0.3, shoulder_r=0.2)
    track.to(0.35, pitch=0.9, x=s.x + ahead * 0.25, hip_l=1.2, hip_r=1.1, knee_l=1.4, knee_r=1.5)
    end = lying(_landing(setting.stage, s.x + ahead * 0.45), side_on(s.yaw), face_up=False, rng=rng)
    track.to_pose(0.35, end)
    track.to(0.15, nod=end.nod + 0.15)
