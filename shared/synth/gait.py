"""Walking: a path along the lane (turning at its ends) and a leg and arm cycle on it.

The cycle is four keyframes per stride (contact and mid-swing for each leg); the
monotone cubic between them gives smooth swings, and hips are set from the step
length so the feet slide as little as a 2D figure allows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared.synth.pose import Pose, Track
from shared.synth.postures import Setting, facing

TURN_S = 0.7
PATH_DT = 1.0 / 30.0


@dataclass(frozen=True)
class Gait:
    speed: float  # person heights per second
    cycle_s: float  # one stride: two steps
    hip: float  # thigh swing, radians either side
    knee: float  # knee bend of the swinging leg
    arm: float  # arm swing, radians either side


@dataclass(frozen=True)
class Path:
    times: np.ndarray
    xs: np.ndarray
    yaws: np.ndarray

    def at(self, t: float) -> tuple[float, float]:
        return float(np.interp(t, self.times, self.xs)), float(np.interp(t, self.times, self.yaws))


def random_gait(setting: Setting, rng: np.random.Generator) -> Gait:
    cycle = rng.uniform(0.95, 1.3)
    step = 0.5 * setting.speed * cycle
    leg = setting.body.thigh + setting.body.shin
    hip = float(np.clip(step / (1.8 * leg), 0.12, 0.42))
    return Gait(setting.speed, cycle, hip, rng.uniform(0.5, 0.85), rng.uniform(0.15, 0.4))


def _limbs(gait: Gait, phase: int) -> dict[str, float]:
    """Leg and arm angles at quarter-stride `phase`: 0 right heel strikes, 2 left does."""
    lead, trail = ("r", "l") if phase % 4 < 2 else ("l", "r")
    if phase % 2 == 0:  # heel strike: legs apart, arms opposite
        return {f"hip_{lead}": gait.hip, f"hip_{trail}": -0.8 * gait.hip,
                f"knee_{lead}": 0.08, f"knee_{trail}": 0.3,
                f"shoulder_{trail}": gait.arm, f"shoulder_{lead}": -gait.arm}
    return {f"hip_{lead}": -0.1 * gait.hip, f"hip_{trail}": 0.5 * gait.hip,  # mid-swing
            f"knee_{lead}": 0.12, f"knee_{trail}": gait.knee,
            f"shoulder_{trail}": 0.1 * gait.arm, f"shoulder_{lead}": -0.1 * gait.arm}


def _feet_together() -> dict[str, float]:
    rest = Pose()
    return {"hip_l": rest.hip_l, "hip_r": rest.hip_r, "knee_l": rest.knee_l,
            "knee_r": rest.knee_r, "shoulder_l": 0.05, "shoulder_r": -0.03}


def _heading_yaw(yaw: float, heading: float, towards_camera: float) -> float:
    base = towards_camera if heading > 0 else np.pi - towards_camera
    return facing(yaw, base)


def bounce_path(x0: float, yaw0: float, seconds: float, speed: float, bounds: tuple[float, float],
                heading: float, towards_camera: float) -> Path:
    """Walk `heading` (+1 right, -1 left), turning round at the lane's ends."""
    times = np.arange(0.0, seconds + PATH_DT, PATH_DT)
    xs, yaws = np.empty_like(times), np.empty_like(times)
    x, yaw, target, turning = x0, yaw0, _heading_yaw(yaw0, heading, towards_camera), 0.0
    for i in range(len(times)):
        xs[i], yaws[i] = x, yaw
        if turning > 0:
            turning -= PATH_DT
            yaw += (target - yaw) * min(1.0, PATH_DT / max(turning, PATH_DT))
            continue
        yaw += (target - yaw) * 0.2
        x += heading * speed * PATH_DT
        if not bounds[0] <= x <= bounds[1]:
            x, heading, turning = float(np.clip(x, *bounds)), -heading, TURN_S
            target = _heading_yaw(yaw, heading, towards_camera)
    return Path(times, xs, yaws)


def straight_path(x0: float, yaw0: float, x1: float, speed: float,
                  towards_camera: float) -> Path:
    """Turn to face `x1` if needed, then walk straight to it."""
    heading = 1.0 if x1 >= x0 else -1.0
    yaw1 = _heading_yaw(yaw0, heading, towards_camera)
    turn = TURN_S * min(1.0, abs(yaw1 - yaw0) / np.pi * 1.5)
    walk = abs(x1 - x0) / speed
    return Path(np.array([0.0, turn + 1e-3, turn + walk + 2e-3]), np.array([x0, x0, x1]),
                np.array([yaw0, yaw1, yaw1]))


def step_along(track: Track, gait: Gait, path: Path, stop: bool) -> None:
    """Append stride keyframes following `path`; with `stop`, end standing feet together."""
    quarter, duration = gait.cycle_s / 4, float(path.times[-1])
    start, phase, t = track.t, 0, quarter
    while t < duration - 0.5 * quarter:
        x, yaw = path.at(t)
        track.to_pose(start + t - track.t, track.last._replace(x=x, yaw=yaw, **_limbs(gait, phase)))
        phase, t = phase + 1, t + quarter
    x, yaw = path.at(duration)
    legs = _feet_together() if stop else _limbs(gait, phase)
    track.to_pose(start + duration - track.t, track.last._replace(x=x, yaw=yaw, **legs))
