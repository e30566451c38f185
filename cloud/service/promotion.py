"""Should a new model replace production? A pure decision, tested with plain numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Policy = Literal["never", "if_better", "always"]


@dataclass(frozen=True)
class Scores:
    """Test-split scores of one model, both models scored on the same split."""

    macro_f1: float
    fall_recall: float


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    reason: str


def decide_promotion(
    policy: Policy, candidate: Scores, production: Scores | None, has_production: bool
) -> PromotionDecision:
    """`if_better`: higher macro-F1 without losing fall recall (a missed fall costs most)."""
    if policy == "never":
        return PromotionDecision(False, "promotion policy is 'never'")
    if policy == "always":
        return PromotionDecision(True, "promotion policy is 'always'")
    if not has_production:
        return PromotionDecision(True, "no production model yet")
    if production is None:
        return PromotionDecision(
            False, "production could not be scored on this job's test split; promote by hand"
        )
    summary = (
        f"macro-F1 {candidate.macro_f1:.3f} vs {production.macro_f1:.3f}, "
        f"fall recall {candidate.fall_recall:.3f} vs {production.fall_recall:.3f}"
    )
    better = candidate.macro_f1 > production.macro_f1
    keeps_falls = candidate.fall_recall >= production.fall_recall
    if better and keeps_falls:
        return PromotionDecision(True, f"better than production: {summary}")
    return PromotionDecision(False, f"not better than production: {summary}")
