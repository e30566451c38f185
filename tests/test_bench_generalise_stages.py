"""bench/generalise_stages.py: stored window scores through the edge's state machine, and
how its possible and confirmed falls are judged."""

from __future__ import annotations

import pytest

from bench.generalise_stages import StageRule, judge, replay

HOP = 0.5


def scores(*segments: tuple[float, float], start: float = 2.0) -> list[tuple[float, float]]:
    """(window end s, fall p) every hop from `start`: (p, seconds) segments in turn."""
    out, t = [], start
    for p, seconds in segments:
        for _ in range(round(seconds / HOP)):
            out.append((t, p))
            t += HOP
    return out


def test_a_fall_the_score_stays_up_after_is_confirmed_and_a_bend_recovers() -> None:
    rule = StageRule(2.0, 0.5)
    fall = replay(scores((0.1, 2.0), (0.9, 4.0)), rule)
    (episode,) = fall.episodes
    assert (episode.possible_s, episode.outcome, episode.decided_s) == (4.5, "confirmed", 6.5)
    assert fall.confirmed_s == (6.5,)
    bend = replay(scores((0.1, 2.0), (0.9, 1.0), (0.1, 3.0)), rule)
    assert [(e.possible_s, e.outcome) for e in bend.episodes] == [(4.5, "recovered")]
    assert bend.confirmed_s == ()
    one_stage = replay(scores((0.1, 2.0), (0.9, 1.0), (0.1, 3.0)), StageRule(0.0, 0.5))
    assert one_stage.confirmed_s == (4.5,)  # the same bend is the alarm in one stage


def test_a_clip_that_ends_before_the_decision_leaves_the_fall_undecided() -> None:
    short = replay(scores((0.1, 2.0), (0.9, 1.5)), StageRule(3.0, 0.5))
    assert [e.outcome for e in short.episodes] == ["undecided"]


def test_judging_counts_possible_and_confirmed_alerts_apart() -> None:
    clips = [
        {"clip": "fall.mp4", "fall_start_s": 4.0, "group": "other"},
        {"clip": "bend.mp4", "fall_start_s": None, "group": "bending"},
        {"clip": "short.mp4", "fall_start_s": 4.0, "group": "other"},
    ]
    windows = [
        *[(0, t, p) for t, p in scores((0.1, 2.0), (0.9, 4.0))],
        *[(1, t, p) for t, p in scores((0.1, 2.0), (0.9, 1.0), (0.1, 3.0))],
        *[(2, t, p) for t, p in scores((0.1, 2.0), (0.9, 1.0))],
    ]
    got = judge(clips, windows, StageRule(2.0, 0.5), clip_seconds=2.0)
    assert got["falls"] == 2 and got["negatives"] == 3  # both falls start after a window
    assert got["possible_falls_alerted"] == 1.0  # both falls warned at once
    assert got["possible_negatives"] == pytest.approx(1 / 3)  # the bend's chime
    assert got["confirmed_negatives"] == 0.0  # ... but no alarm
    assert got["confirmed_falls"] == 0.5  # the short clip ended before its decision
    assert got["decided_falls"] == 0.5 and got["confirmed_of_decided"] == 1.0
    assert got["confirmed_latency_s"] == pytest.approx(6.5 - 4.0)
