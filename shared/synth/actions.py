"""The eight actions as keyframed motions that start from any pose.

Every action takes the pose the previous one ended in, so a scenario chains them without
jumps; `start_pose` gives the pose a stand-alone clip of an action starts from.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from shared.labels import NO_PERSON
from shared.synth.falls import fall_from_seat, fall_from_standing
from shared.synth.gait import bounce_path, random_gait, step_along, straight_path
from shared.synth.pose import Keyframes, Pose, Track, still
from shared.synth.postures import (
    HALF_PI,
    Posture,
    Setting,
    facing,
    forward,
    get_to,
    get_up_from_floor,
    lying,
    posture_of,
    relax_arms,
    rise_from_seat,
    seated,
    sit_on_seat,
    stand_spot,
    standing,
)
from shared.synth.room import Stage

CLEAR_OF_FURNITURE = 0.45
LYING_INSET = 0.15  # the head of a body lying at the lane's end stays in view
Action = Callable[[Pose, float, Setting, np.random.Generator], Keyframes]


def towards_camera(yaw: float) -> float:
    """How far a walker facing `yaw` is turned towards the camera (0: side on)."""
    return float(np.arcsin(np.clip(np.sin(yaw), -1.0, 1.0)))


def fidget(track: Track, until: float, rng: np.random.Generator, amount: float = 1.0) -> None:
    """Small shifts of the trunk, head and arms around the current pose until `until`."""
    base = track.last
    while track.t < until - 0.3:
        jiggle = {name: getattr(base, name) + rng.normal(0, 0.04 * amount)
                  for name in ("lean", "nod", "shoulder_l", "shoulder_r", "elbow_l", "elbow_r")}
        track.to(min(rng.uniform(0.5, 1.2), until - track.t), **jiggle)


def walking(start: Pose, seconds: float, setting: Setting, rng: np.random.Generator,
            goal_x: float | None = None) -> Keyframes:
    """Walk along the lane (towards `goal_x` if given), turning round at its ends."""
    track = Track(start)
    get_to(track, setting, Posture.STANDING, rng)
    relax_arms(track)
    left, here = seconds - track.t, track.last
    if left > 0.3:
        heading = 1.0 if forward(here) >= 0 else -1.0
        if goal_x is not None and abs(goal_x - here.x) > 0.2:
            heading = 1.0 if goal_x > here.x else -1.0
        stage = setting.stage
        path = bounce_path(here.x, here.yaw, left, setting.speed, (stage.x_min, stage.x_max),
                           heading, towards_camera(here.yaw))
        step_along(track, random_gait(setting, rng), path, stop=False)
    return track.fit(seconds)


def _approach_chair(track: Track, setting: Setting, rng: np.random.Generator) -> None:
    """Walk to the spot in front of the chair and turn the back to it."""
    here, spot = track.last, stand_spot(setting)
    if abs(here.x - spot) > 0.05:
        path = straight_path(here.x, here.yaw, spot, setting.speed, towards_camera(here.yaw))
        step_along(track, random_gait(setting, rng), path, stop=True)
    turn = facing(track.last.yaw, setting.stage.seat_yaw)
    if abs(turn - track.last.yaw) > 0.2:
        track.to(0.3, yaw=0.5 * (turn + track.last.yaw), hip_l=0.15, knee_l=0.4)
        track.to(0.3, yaw=turn, hip_l=0.0, knee_l=0.05)


def sitting_down(start: Pose, seconds: float, setting: Setting,
                 rng: np.random.Generator) -> Keyframes:
    """Sit on the chair (walking to it first if needed); from the floor, sit up instead."""
    track = Track(start)
    now = posture_of(start)
    if now == Posture.LYING:
        track.to(rng.uniform(0.9, 1.4), pitch=-0.3, lean=0.45, hip_l=1.5, hip_r=1.5,
                 knee_l=rng.uniform(0.3, 1.3), knee_r=rng.uniform(0.3, 1.3), shoulder_l=0.5,
                 shoulder_r=0.4, nod=0.0)
    elif now == Posture.STANDING:
        relax_arms(track)
        track.hold(rng.uniform(0.1, 0.6) * min(1.0, seconds / 3))
        _approach_chair(track, setting, rng)
        sit_on_seat(track, setting, pace=rng.uniform(0.8, 1.3))
    fidget(track, seconds, rng)
    return track.fit(seconds)


def standing_up(start: Pose, seconds: float, setting: Setting,
                rng: np.random.Generator) -> Keyframes:
    """Rise from the chair or get up from the floor; from standing, rise from a crouch."""
    track = Track(start)
    track.hold(rng.uniform(0.1, 0.7) * min(1.0, seconds / 3))
    now = posture_of(start)
    if now == Posture.SEATED:
        rise_from_seat(track, setting, pace=rng.uniform(0.8, 1.3))
    elif now == Posture.LYING:
        get_up_from_floor(track, setting, pace=rng.uniform(0.8, 1.1))
    else:
        track.to(0.6, lean=0.7, hip_l=1.5, hip_r=1.4, knee_l=2.0, knee_r=1.9, shoulder_l=0.6)
        track.to_pose(0.8, standing(start.x, start.yaw, setting.stoop))
    fidget(track, seconds, rng)
    return track.fit(seconds)


def falling(start: Pose, seconds: float, setting: Setting,
            rng: np.random.Generator) -> Keyframes:
    """Fall to the floor within about a second (from standing or off the chair), then lie."""
    track = Track(start)
    now = posture_of(start)
    if now == Posture.STANDING:
        relax_arms(track)
        track.hold(rng.uniform(0.05, 0.3) * min(1.0, seconds / 3))
        fall_from_standing(track, setting, rng)
    elif now == Posture.SEATED:
        track.hold(rng.uniform(0.05, 0.3))
        fall_from_seat(track, setting, rng)
    fidget(track, seconds, rng, amount=0.5)
    return track.fit(seconds)


def _stir_on_floor(track: Track, rng: np.random.Generator) -> None:
    """One small movement while lying: an arm, a knee or the head, and back."""
    base = track.last
    side = "l" if rng.random() < 0.5 else "r"
    moves = (
        {f"shoulder_{side}": getattr(base, f"shoulder_{side}") + rng.uniform(-0.5, 0.5),
         f"elbow_{side}": getattr(base, f"elbow_{side}") + rng.uniform(0.0, 0.6)},
        {f"hip_{side}": getattr(base, f"hip_{side}") + rng.uniform(0.2, 0.6),
         f"knee_{side}": getattr(base, f"knee_{side}") + rng.uniform(0.3, 0.9)},
        {"nod": base.nod + rng.uniform(-0.3, 0.35)},
    )
    track.to(rng.uniform(0.5, 1.0), **moves[rng.integers(len(moves))])
    track.hold(rng.uniform(0.1, 0.6))
    track.to_pose(rng.uniform(0.5, 1.0), base)


def lying_on_floor(start: Pose, seconds: float, setting: Setting,
                   rng: np.random.Generator) -> Keyframes:
    """Lie on the floor, mostly still, now and then moving a limb a little."""
    track = Track(start)
    get_to(track, setting, Posture.LYING, rng)
    while track.t < seconds - 0.5:
        track.hold(rng.uniform(0.2, 1.2))
        if rng.random() < 0.7:
            _stir_on_floor(track, rng)
    return track.fit(seconds)


def _bend_pose(here: Pose, reach: str, rng: np.random.Generator) -> dict[str, float]:
    """Bent over, the `reach` hand down at the floor (leaning forward when seated)."""
    other = "r" if reach == "l" else "l"
    if posture_of(here) == Posture.SEATED:
        lean = rng.uniform(0.8, 1.1)
        return {"lean": lean, "nod": 0.2, f"shoulder_{reach}": lean + 0.1,
                f"elbow_{reach}": 0.1, f"shoulder_{other}": 0.6}
    lean, knees = rng.uniform(1.1, 1.5), rng.uniform(0.1, 0.6)
    return {"lean": lean, "nod": 0.15, "hip_l": 0.5 * knees, "hip_r": 0.4 * knees,
            "knee_l": knees, "knee_r": 0.8 * knees, "x": here.x - forward(here) * 0.06,
            f"shoulder_{reach}": lean + rng.uniform(0.0, 0.3), f"elbow_{reach}": 0.1,
            f"shoulder_{other}": 0.6 * lean, f"elbow_{other}": 0.5}


def bending(start: Pose, seconds: float, setting: Setting,
            rng: np.random.Generator) -> Keyframes:
    """Bend at the hips to pick something off the floor, then straighten up."""
    track = Track(start)
    if posture_of(start) == Posture.LYING:
        get_to(track, setting, Posture.STANDING, rng)
    relax_arms(track)
    upright = track.last
    track.hold(rng.uniform(0.1, 0.6) * min(1.0, seconds / 3))
    reach = "l" if rng.random() < 0.5 else "r"
    track.to(rng.uniform(0.7, 1.1), **_bend_pose(upright, reach, rng))
    picking = f"elbow_{reach}"  # the hand closes on the thing and lifts it a little
    track.to(rng.uniform(0.2, 0.4), **{picking: 0.5}).to(rng.uniform(0.2, 0.4), **{picking: 0.2})
    track.to_pose(rng.uniform(0.7, 1.1), upright)
    fidget(track, seconds, rng, amount=0.5)
    return track.fit(seconds)


def _raised_arm(here: Pose, side: str, rng: np.random.Generator) -> dict[str, float]:
    """Upper arm out to the side, forearm up: the hand above the shoulder."""
    if posture_of(here) == Posture.LYING:  # face up: at the ceiling; face down: ahead
        return {f"shoulder_{side}": HALF_PI if here.pitch < 0 else 2.5, f"abduct_{side}": 0.2,
                f"elbow_{side}": rng.uniform(0.0, 0.4), f"wave_{side}": 0.0}
    abduct = rng.uniform(0.9, 1.3)
    return {f"shoulder_{side}": rng.uniform(0.2, 0.6), f"abduct_{side}": abduct,
            f"elbow_{side}": rng.uniform(2.2, 2.6), f"wave_{side}": -abduct + rng.uniform(0, 0.3)}


def waving(start: Pose, seconds: float, setting: Setting,
           rng: np.random.Generator) -> Keyframes:
    """Raise one arm and wave the hand from side to side; the rest stays still."""
    track = Track(start)
    side = "l" if rng.random() < 0.5 else "r"
    track.hold(rng.uniform(0.1, 0.5) * min(1.0, seconds / 3))
    raised = _raised_arm(start, side, rng)
    track.to(rng.uniform(0.35, 0.6), **raised)
    lower_at = seconds - 0.5 if rng.random() < 0.4 else seconds
    half_period, swing = 0.5 / rng.uniform(1.5, 2.5), rng.uniform(0.3, 0.5)
    sign = 1.0
    while track.t + half_period < lower_at:
        track.to(half_period, **{f"wave_{side}": raised[f"wave_{side}"] + sign * swing,
                                 f"elbow_{side}": raised[f"elbow_{side}"] - sign * 0.2,
                                 "lean": start.lean + rng.normal(0, 0.01)})
        sign = -sign
    if lower_at < seconds:
        track.to_pose(0.45, start)
    return track.fit(seconds)


def no_person(start: Pose, seconds: float, setting: Setting,
              rng: np.random.Generator) -> Keyframes:
    """Nobody in view: the pose only keeps the timeline (the figure is not drawn)."""
    return still(start, seconds)


ACTIONS: dict[str, Action] = {
    "walking": walking,
    "sitting_down": sitting_down,
    "standing_up": standing_up,
    "falling": falling,
    "lying_on_floor": lying_on_floor,
    "bending": bending,
    "waving": waving,
    NO_PERSON: no_person,
}


def _side_on_yaw(rng: np.random.Generator, heading: float) -> float:
    turn = rng.uniform(-0.45, 0.55)
    return float(turn if heading > 0 else np.pi - turn)


def _in_view_x(stage: Stage, rng: np.random.Generator, inset: float = 0.0) -> float:
    """A pelvis X on the lane, `inset` from its ends, clear of furniture in front."""
    lo, hi = stage.x_min + inset, max(stage.x_min + inset, stage.x_max - inset)
    x = float(rng.uniform(lo, hi))
    for _ in range(20):
        if all(not a - CLEAR_OF_FURNITURE < x < b + CLEAR_OF_FURNITURE for a, b in stage.hidden):
            break
        x = float(rng.uniform(lo, hi))
    return x


def _before_sitting(setting: Setting, rng: np.random.Generator) -> Pose:
    """Mostly right in front of the chair; sometimes a few steps away, walking up to it."""
    spot, stage = stand_spot(setting), setting.stage
    if rng.random() < 0.7:
        return standing(spot, stage.seat_yaw, setting.stoop)
    away = spot + rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 0.6)
    away = float(np.clip(away, stage.x_min, stage.x_max))
    return standing(away, _side_on_yaw(rng, 1.0 if spot > away else -1.0), setting.stoop)


def start_pose(label: str, setting: Setting, rng: np.random.Generator) -> Pose:
    """Where a stand-alone clip of `label` starts: in the posture the action starts from."""
    stage = setting.stage
    x = _in_view_x(stage, rng, LYING_INSET if label == "lying_on_floor" else 0.0)
    towards_middle = 1.0 if x < 0.5 * (stage.x_min + stage.x_max) else -1.0
    if label == "standing_up":
        return seated(stage)
    if label == "sitting_down":
        return _before_sitting(setting, rng)
    if label == "lying_on_floor":
        return lying(x, _side_on_yaw(rng, towards_middle), bool(rng.random() < 0.6), rng)
    if label in ("walking", "falling"):
        return standing(x, _side_on_yaw(rng, towards_middle), setting.stoop)
    return standing(x, float(rng.uniform(-0.6, np.pi + 0.6)), setting.stoop)
