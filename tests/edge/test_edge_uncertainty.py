"""Unsure windows: entropy and margin thresholds, the clip rate limit, near-duplicates."""

from __future__ import annotations

import math

import pytest

from edge.uncertainty import ClipRateLimiter, assess, entropy, is_unsure, top2_margin
from shared.messages import Thresholds


def test_entropy_in_nats() -> None:
    assert entropy([1.0, 0.0, 0.0]) == 0.0
    assert entropy([0.25] * 4) == pytest.approx(math.log(4))
    assert entropy([0.5, 0.5, 0.0]) == pytest.approx(math.log(2))


def test_margin_is_top_minus_second() -> None:
    assert top2_margin([0.1, 0.7, 0.2]) == pytest.approx(0.5)
    assert top2_margin([0.5, 0.5]) == 0.0
    with pytest.raises(ValueError):
        top2_margin([1.0])


@pytest.mark.parametrize(
    ("probs", "unsure"),
    [
        ([0.96, 0.01, 0.01, 0.01, 0.01], False),  # confident
        ([0.45, 0.40, 0.05, 0.05, 0.05], True),  # close call: margin 0.05 <= 0.15
        ([0.30, 0.10, 0.20, 0.20, 0.20], True),  # flat: entropy 1.56 >= 1.2
        ([0.60, 0.40, 0.0, 0.0, 0.0], False),  # margin 0.2, entropy 0.67: sure enough
    ],
)
def test_unsure_by_entropy_or_margin(probs: list[float], unsure: bool) -> None:
    assert is_unsure(assess(probs), Thresholds()) is unsure


def test_thresholds_move_the_boundary() -> None:
    u = assess([0.60, 0.40, 0.0])
    assert not is_unsure(u, Thresholds(unsure_margin=0.15))
    assert is_unsure(u, Thresholds(unsure_margin=0.25))
    assert is_unsure(u, Thresholds(unsure_entropy=0.5))


def test_assess_names_the_predicted_index() -> None:
    u = assess([0.1, 0.2, 0.7])
    assert u.predicted == 2 and u.margin == pytest.approx(0.5)


def test_rate_limit_per_hour() -> None:
    limiter = ClipRateLimiter(max_per_hour=3, dedup_s=0)
    taken = [limiter.allow(f"label{i}", t) for i, t in enumerate([0, 10, 20, 30, 40])]
    assert taken == [True, True, True, False, False]
    assert limiter.suppressed_rate == 2
    assert limiter.allow("later", 3600.0)  # the first clip has left the hour
    assert not limiter.allow("later2", 3601.0)


def test_near_duplicates_of_the_same_label_are_suppressed() -> None:
    limiter = ClipRateLimiter(max_per_hour=100, dedup_s=60)
    assert limiter.allow("walking", 0.0)
    assert not limiter.allow("walking", 59.0)
    assert limiter.allow("sitting_down", 30.0)  # another label is not a duplicate
    assert limiter.allow("walking", 60.0)
    assert limiter.suppressed_duplicate == 1


def test_a_suppressed_clip_does_not_use_the_budget() -> None:
    limiter = ClipRateLimiter(max_per_hour=2, dedup_s=60)
    assert limiter.allow("a", 0.0)
    assert not limiter.allow("a", 1.0)
    assert limiter.allow("b", 2.0)
    assert not limiter.allow("c", 3.0)


def test_no_two_clips_closer_than_the_minimum_gap() -> None:
    limiter = ClipRateLimiter(max_per_hour=100, dedup_s=0, min_gap_s=30)
    taken = [
        t
        for t, label in [(0, "a"), (0.5, "b"), (10, "c"), (30, "d"), (31, "e")]
        if limiter.allow(label, t)
    ]
    assert taken == [0, 30]
    assert limiter.suppressed_duplicate == 3
