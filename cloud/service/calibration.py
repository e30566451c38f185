"""A learning phase per room: each room's fall threshold set from its own history.

Every heartbeat carries a histogram of the agent's window fall scores since it started
(the fall and lying probabilities together, in 20 bins of 0.05: scores only, no video).
The cloud keeps, per device, the sum over the agent's earlier runs and the latest count
of the current run (`fold_heartbeat`): counts only grow within a run, so a lost
heartbeat loses nothing and a late one changes nothing.

`calibrate` turns a room's histogram into a fall threshold (`Thresholds.fall_enter`) for
a false-alarm budget (`alert_budget_per_week`, default one per room per week). A fall
alarm needs at least `fall_windows` windows at or above the threshold, so the windows
seen there over the learning time, divided by `fall_windows` and scaled to a week, are
an upper bound on the alarms that threshold would have raised: the lowest threshold whose
bound fits the budget is the room's. It assumes the learning time held no real fall
(one would raise the threshold a little); it never goes below the shipped threshold (the
learning phase makes a noisy room stricter, never a quiet one more sensitive) nor above
`CEILING`, where a room that still exceeds its budget is reported as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.messages import SCORE_BINS, Heartbeat, Thresholds

CEILING = 0.95
WEEK_S = 7 * 86_400.0


def fold_heartbeat(state: dict[str, Any] | None, heartbeat: Heartbeat) -> dict[str, Any] | None:
    """The device's score history with this heartbeat's histogram taken in."""
    if heartbeat.fall_scores is None or heartbeat.fall_scores_since is None:
        return state
    since = heartbeat.fall_scores_since.isoformat()
    bins, seconds = list(heartbeat.fall_scores), float(heartbeat.uptime_s)
    if state is None:
        return {"since": since, "total": [0] * SCORE_BINS, "total_s": 0.0,
                "run_since": since, "run": bins, "run_s": seconds}  # fmt: skip
    state = dict(state)
    if since == state["run_since"]:
        if sum(bins) >= sum(state["run"]):  # a late heartbeat of the run changes nothing
            state["run"], state["run_s"] = bins, max(seconds, state["run_s"])
        return state
    if since < state["run_since"]:
        return state  # an earlier run's, arriving late: that run is counted already
    state["total"] = [a + b for a, b in zip(state["total"], state["run"], strict=True)]
    state["total_s"] = state["total_s"] + state["run_s"]
    state["run_since"], state["run"], state["run_s"] = since, bins, seconds
    return state


def learned(state: dict[str, Any] | None) -> tuple[list[int], float]:
    """The histogram and the seconds of video it covers, over every run."""
    if state is None:
        return [0] * SCORE_BINS, 0.0
    bins = [a + b for a, b in zip(state["total"], state["run"], strict=True)]
    return bins, float(state["total_s"] + state["run_s"])


@dataclass(frozen=True)
class Calibration:
    threshold: float
    expected_per_week: float  # the upper bound at that threshold
    reachable: bool  # the budget is met at or under the ceiling
    windows: int
    observed_s: float


def alarms_per_week(bins: list[int], observed_s: float, threshold: float, k: int) -> float:
    """The upper bound on alarms a week at `threshold` (bin edges: multiples of 0.05)."""
    first = round(threshold * SCORE_BINS)
    return sum(bins[first:]) / k * WEEK_S / observed_s


def calibrate(
    bins: list[int], observed_s: float, budget_per_week: float, base: Thresholds
) -> Calibration:
    """The lowest threshold, from the shipped one up to `CEILING` in steps of one bin,
    whose alarms-a-week bound fits `budget_per_week` (`base`: the device's thresholds,
    for its `fall_windows`)."""
    if observed_s <= 0:
        raise ValueError("no learning time: nothing to calibrate from")
    lowest = math.ceil(Thresholds().fall_enter * SCORE_BINS - 1e-9)
    for step in range(lowest, round(CEILING * SCORE_BINS) + 1):
        threshold = step / SCORE_BINS
        expected = alarms_per_week(bins, observed_s, threshold, base.fall_windows)
        if expected <= budget_per_week:
            return Calibration(threshold, expected, True, sum(bins), observed_s)
    return Calibration(CEILING, expected, False, sum(bins), observed_s)


def since_of(state: dict[str, Any] | None) -> datetime | None:
    return None if state is None else datetime.fromisoformat(state["since"])
