"""Is the student unsure about a window, and may we spend a clip upload on it? Pure code.

Unsure means a flat distribution (entropy at or above `unsure_entropy`, in nats) or a
close call between the top two labels (margin at or below `unsure_margin`): the two
signals of uncertainty sampling in active learning (Settles, "Active Learning
Literature Survey", 2009, sec. 3.1). Clips cost bandwidth and a person's labelling time,
so a rate limit and a near-duplicate rule keep them few.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shared.messages import Thresholds


@dataclass(frozen=True)
class Uncertainty:
    predicted: int
    entropy: float
    margin: float


def entropy(probs: Sequence[float] | np.ndarray) -> float:
    """Shannon entropy in nats; zero probabilities contribute nothing."""
    p = np.asarray(probs, dtype=np.float64)
    nonzero = p[p > 0]
    return float(max(-np.sum(nonzero * np.log(nonzero)), 0.0))


def top2_margin(probs: Sequence[float] | np.ndarray) -> float:
    """Difference between the largest and the second largest probability."""
    p = np.sort(np.asarray(probs, dtype=np.float64))
    if p.size < 2:
        raise ValueError("a margin needs at least two probabilities")
    return float(min(max(p[-1] - p[-2], 0.0), 1.0))


def assess(probs: Sequence[float] | np.ndarray) -> Uncertainty:
    p = np.asarray(probs, dtype=np.float64)
    return Uncertainty(predicted=int(np.argmax(p)), entropy=entropy(p), margin=top2_margin(p))


def is_unsure(u: Uncertainty, thresholds: Thresholds) -> bool:
    return u.entropy >= thresholds.unsure_entropy or u.margin <= thresholds.unsure_margin


class ClipRateLimiter:
    """At most `max_per_hour` clips in any hour, none within `dedup_s` of one with its label,
    and none within `min_gap_s` of any other (overlapping windows show the same moment).

    Times are the caller's seconds (frame timestamps), so the rule is testable and a file
    replayed fast obeys the same budget as a live camera.
    """

    def __init__(self, max_per_hour: int, dedup_s: float, min_gap_s: float = 0.0) -> None:
        self.max_per_hour = max_per_hour
        self.dedup_s = dedup_s
        self.min_gap_s = min_gap_s
        self._recent: deque[float] = deque()
        self._last_by_label: dict[str, float] = {}
        self.suppressed_rate = 0
        self.suppressed_duplicate = 0

    def allow(self, label: str, t: float) -> bool:
        """Return whether a clip at `t` predicted as `label` may be taken, and record it if so."""
        while self._recent and t - self._recent[0] >= 3600.0:
            self._recent.popleft()
        last = self._last_by_label.get(label)
        too_close = bool(self._recent) and t - self._recent[-1] < self.min_gap_s
        if too_close or (last is not None and t - last < self.dedup_s):
            self.suppressed_duplicate += 1
            return False
        if len(self._recent) >= self.max_per_hour:
            self.suppressed_rate += 1
            return False
        self._recent.append(t)
        self._last_by_label[label] = t
        return True
