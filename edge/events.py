"""The event state machine: window probabilities in, start/update/end decisions out.

Pure code: no clocks, no I/O. Times are the frame timestamps (seconds) of each window's
end, so the same video always yields the same events.

Three tracks run side by side (a fall in two stages):

- activity: the top non-fall label of the *smoothed* probabilities (mean of the last
  k windows), entered at `enter` after holding `min_start_s`, left below `exit` after
  `min_end_s` (hysteresis). `no_person` ends the current activity and is never reported.
- fall: a critical event starts once `fall_windows` of the last `fall_span` windows show
  the person down (the *raw* probability of the fall and lying labels together at or
  above `fall_enter`) and one of them shows the fall motion (a fall label alone at
  `fall_enter`). The default, 2 of 2, is the fall and, one hop later, the person still
  on the floor or still falling; a bend, where the person is up again a hop later, is
  not. Counting raw windows, not smoothing them, costs one hop per extra window and no
  more. `bench/generalise_rules.py` ran both rules through this agent on real held-out
  video: two windows alerted on fewer non-fall clips for about the same falls within
  3 s (docs/BENCHMARKS.md). The event starts at the window that decided it, so its time
  is when the alert could first go out. It ends once the smoothed fall score has stayed
  below `exit` for `fall_hold_s`, so a flickering score on the floor is one episode.
- two stages: with `confirm_s` > 0 the fall starts as `possible` (a warning) and the
  edge watches the `confirm_s` after it. If the person was seen down (the same "down"
  as above) in at least `confirm_share` of the windows in which anyone was seen, the
  fall is `confirmed` (an update, critical: the alarm); otherwise it ends as
  `recovered` (they got up, or it was a bend). Windows where `no_person` leads do not
  count either way, and a fall nobody was seen after is confirmed: a person out of view
  on the floor is the case that must not be missed. With `confirm_s` = 0 the fall starts
  confirmed, in one stage.
- long lie: after a fall, lying on the floor for `long_lie_s` raises a second critical
  event, `long_lie`; getting up (another activity) disarms it. `no_person` does not:
  a person on the floor may be out of view, and a missed long lie costs more than a
  false alarm.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from shared.labels import Severity, default_severity
from shared.messages import MAX_FALL_SPAN, STAGE_SEVERITY, EventType, FallStage, Thresholds

LONG_LIE = "long_lie"
# How long after a possible fall the edge decides confirmed or recovered (`events.confirm_s`).
# Chosen by bench/generalise_stages.py (the students' window scores on rooms never seen,
# replayed through this machine, seeds 1 and 2): 2 s took the alarm off 5 of the 12 % of
# non-fall clips that raised it in one stage for the student distilled on the site's
# footage (to 7 %) and confirmed 99 % of the falls the clips let it decide; 3 s did no
# better, and the test clips end too soon after most falls to measure 5 s or more
# (docs/BENCHMARKS.md, Two-stage alerts).
CONFIRM_S = 2.0


@dataclass(frozen=True)
class EventRules:
    """What the state machine needs to know; labels come from the model's metadata."""

    labels: tuple[str, ...]
    fall_labels: frozenset[str] = frozenset()
    severities: Mapping[str, Severity] = field(default_factory=dict)
    thresholds: Thresholds = field(default_factory=Thresholds)
    smoothing_windows: int = 3
    min_start_s: float = 1.0
    min_end_s: float = 1.0
    fall_hold_s: float = 5.0
    update_interval_s: float = 10.0
    long_lie_s: float = 30.0
    confirm_s: float = CONFIRM_S
    confirm_share: float = 0.5
    lying_labels: frozenset[str] = frozenset({"lying_on_floor", "lying"})
    no_person_label: str = "no_person"

    def severity(self, action: str) -> Severity:
        if action in self.fall_labels or action == LONG_LIE:
            return Severity.CRITICAL
        return self.severities.get(action, default_severity(action))


@dataclass(frozen=True)
class EventDecision:
    """One event to emit; times are frame timestamps in seconds."""

    type: EventType
    action: str
    severity: Severity
    confidence: float
    started_s: float
    ended_s: float | None = None
    stage: FallStage | None = None  # a fall episode's stage, with the time it was decided
    stage_s: float | None = None


@dataclass
class _Episode:
    action: str
    started_s: float
    last_report_s: float
    confidence: float
    below_since: float | None = None
    stage: FallStage | None = None
    stage_s: float | None = None
    seen: int = 0  # windows since a possible fall with somebody in view
    down: int = 0  # of those, the windows that showed the person down


@dataclass(frozen=True)
class _FallWindow:
    label: int  # the fall label this window scored highest
    fall_p: float  # its raw probability: the fall motion, at fall_enter or above
    down: bool  # fall and lying labels together at fall_enter or above: the person down
    seen: bool  # somebody in view: `no_person` does not lead


class EventStateMachine:
    """Feed it one probability vector per window with `step`; it returns the events due."""

    def __init__(self, rules: EventRules) -> None:
        self.rules = rules
        self._history: deque[np.ndarray] = deque(maxlen=rules.smoothing_windows)
        self._recent: deque[_FallWindow] = deque(maxlen=MAX_FALL_SPAN)
        self._activity: _Episode | None = None
        self._pending: tuple[str, float] | None = None
        self._fall: _Episode | None = None
        self._long_lie: _Episode | None = None
        self._fall_armed = False
        self._lying_since: float | None = None
        self._index = {name: i for i, name in enumerate(rules.labels)}
        # The last window's fall score as the fall rule reads it (fall and lying together):
        # what the heartbeat's histogram counts for the room's learning phase.
        self.down_score = 0.0

    def set_thresholds(self, thresholds: Thresholds) -> None:
        self.rules = replace(self.rules, thresholds=thresholds)

    @property
    def open_actions(self) -> list[str]:
        episodes = (self._activity, self._fall, self._long_lie)
        return [e.action for e in episodes if e is not None]

    def step(self, probs: Sequence[float] | np.ndarray, t: float) -> list[EventDecision]:
        raw = np.asarray(probs, dtype=np.float64)
        if raw.shape != (len(self.rules.labels),):
            raise ValueError(f"expected {len(self.rules.labels)} probabilities, got {raw.shape}")
        self._history.append(raw)
        smooth = np.mean(np.stack(self._history), axis=0)
        out = self._step_fall(raw, smooth, t)
        out += self._step_activity(smooth, t)
        out += self._step_long_lie(smooth, t)
        out += self._updates(smooth, t)
        return out

    def close(self, t: float) -> list[EventDecision]:
        """End every open episode at `t` (end of stream, model with other labels)."""
        out = [
            self._end(e, t, e.confidence)
            for e in (self._activity, self._fall, self._long_lie)
            if e is not None
        ]
        self._activity = self._fall = self._long_lie = None
        self._pending = None
        return out

    # -- fall ----------------------------------------------------------------------

    def _step_fall(self, raw: np.ndarray, smooth: np.ndarray, t: float) -> list[EventDecision]:
        falls = [self._index[n] for n in self.rules.labels if n in self.rules.fall_labels]
        if not falls:
            return []
        best = max(falls, key=lambda i: raw[i])
        thresholds = self.rules.thresholds
        down = falls + [self._index[n] for n in self.rules.labels if n in self.rules.lying_labels]
        nobody = self._index.get(self.rules.no_person_label)
        self.down_score = float(raw[down].sum())
        window = _FallWindow(
            best,
            float(raw[best]),
            self.down_score >= thresholds.fall_enter,
            nobody is None or int(np.argmax(raw)) != nobody,
        )
        self._recent.append(window)
        if self._fall is None:
            return self._maybe_fall(t)
        fall = self._fall
        if fall.stage is FallStage.POSSIBLE:
            return self._confirm_or_recover(fall, window, t)
        fall.confidence = float(smooth[self._index[fall.action]])
        if max(smooth[i] for i in falls) >= self.rules.thresholds.exit:
            fall.below_since = None
            return []
        # Hold the episode open: on the floor after a fall the fall score flickers, and
        # each restart would be a new critical event (and a new alert to acknowledge).
        fall.below_since = t if fall.below_since is None else fall.below_since
        if t - fall.below_since < self.rules.fall_hold_s:
            return []
        self._fall = None
        return [self._end(fall, fall.below_since, fall.confidence)]

    def _maybe_fall(self, t: float) -> list[EventDecision]:
        """Start a fall when the rule holds on the latest windows: possible, or confirmed
        at once when there is no confirmation stage."""
        thresholds = self.rules.thresholds
        span = list(self._recent)[-thresholds.fall_span :]
        motion = max(span, key=lambda w: w.fall_p)
        if (
            not span[-1].down
            or sum(w.down for w in span) < thresholds.fall_windows
            or motion.fall_p < thresholds.fall_enter
        ):
            return []
        stage = FallStage.POSSIBLE if self.rules.confirm_s > 0 else FallStage.CONFIRMED
        self._fall = _Episode(
            self.rules.labels[motion.label], t, t, motion.fall_p, stage=stage, stage_s=t
        )
        self._fall_armed, self._lying_since = True, None
        return [self._start(self._fall)]

    def _confirm_or_recover(
        self, fall: _Episode, window: _FallWindow, t: float
    ) -> list[EventDecision]:
        """Count the windows after a possible fall; at `confirm_s`, decide."""
        fall.seen += window.seen
        fall.down += int(window.seen and window.down)
        fall.confidence = max(fall.confidence, window.fall_p if window.down else 0.0)
        if t - fall.started_s < self.rules.confirm_s:
            return []
        fall.stage_s = t
        if fall.seen == 0 or fall.down >= self.rules.confirm_share * fall.seen:
            fall.stage = FallStage.CONFIRMED
            fall.last_report_s = t
            return [self._decision(EventType.UPDATE, fall, fall.confidence)]
        fall.stage = FallStage.RECOVERED
        self._fall = None
        self._fall_armed, self._lying_since = False, None  # up again: no long lie either
        return [self._end(fall, t, fall.confidence)]

    # -- activity --------------------------------------------------------------------

    def _step_activity(self, smooth: np.ndarray, t: float) -> list[EventDecision]:
        out = self._maybe_leave(smooth, t)
        candidates = [i for i, n in enumerate(self.rules.labels) if n not in self.rules.fall_labels]
        best = max(candidates, key=lambda i: smooth[i])
        name = self.rules.labels[best]
        current = self._activity.action if self._activity else None
        if name == current or smooth[best] < self.rules.thresholds.enter:
            self._pending = None
            return out
        if self._pending is None or self._pending[0] != name:
            self._pending = (name, t)
        since = self._pending[1]
        if t - since >= self.rules.min_start_s:
            out += self._enter(name, since, float(smooth[best]), t)
        return out

    def _maybe_leave(self, smooth: np.ndarray, t: float) -> list[EventDecision]:
        episode = self._activity
        if episode is None:
            return []
        episode.confidence = float(smooth[self._index[episode.action]])
        if episode.confidence >= self.rules.thresholds.exit:
            episode.below_since = None
            return []
        if episode.below_since is None:
            episode.below_since = t
        if t - episode.below_since < self.rules.min_end_s:
            return []
        self._activity = None
        return [self._end(episode, max(episode.below_since, episode.started_s), episode.confidence)]

    def _enter(self, name: str, since: float, confidence: float, t: float) -> list[EventDecision]:
        out = []
        if self._activity is not None:
            out.append(
                self._end(
                    self._activity, max(since, self._activity.started_s), self._activity.confidence
                )
            )
            self._activity = None
        self._pending = None
        if name == self.rules.no_person_label:
            # Not seeing anyone after a fall does not mean they got up: stay armed.
            return out
        if name not in self.rules.lying_labels:
            self._fall_armed, self._lying_since = False, None  # got up: no long lie
        self._activity = _Episode(name, since, t, confidence)
        return [*out, self._start(self._activity)]

    # -- long lie ------------------------------------------------------------------

    def _step_long_lie(self, smooth: np.ndarray, t: float) -> list[EventDecision]:
        lying = [self._index[n] for n in self.rules.labels if n in self.rules.lying_labels]
        level = max((float(smooth[i]) for i in lying), default=0.0)
        th = self.rules.thresholds
        if self._long_lie is not None:
            self._long_lie.confidence = level
            if level >= th.exit:
                return []
            ended, self._long_lie = self._long_lie, None
            self._fall_armed, self._lying_since = False, None
            return [self._end(ended, t, level)]
        if not self._fall_armed:
            return []
        if level < (th.exit if self._lying_since is not None else th.enter):
            self._lying_since = None
            return []
        self._lying_since = t if self._lying_since is None else self._lying_since
        if t - self._lying_since < self.rules.long_lie_s:
            return []
        self._long_lie = _Episode(LONG_LIE, self._lying_since, t, level)
        return [self._start(self._long_lie)]

    # -- output ----------------------------------------------------------------------

    def _updates(self, smooth: np.ndarray, t: float) -> list[EventDecision]:
        out = []
        for episode in (self._activity, self._fall, self._long_lie):
            if episode is None or t - episode.last_report_s < self.rules.update_interval_s:
                continue
            episode.last_report_s = t
            out.append(self._decision(EventType.UPDATE, episode, episode.confidence))
        return out

    def _start(self, episode: _Episode) -> EventDecision:
        return self._decision(EventType.START, episode, episode.confidence)

    def _end(self, episode: _Episode, t: float, confidence: float) -> EventDecision:
        return self._decision(EventType.END, episode, confidence, ended_s=t)

    def _decision(
        self, kind: EventType, episode: _Episode, confidence: float, ended_s: float | None = None
    ) -> EventDecision:
        stage = episode.stage
        severity = self.rules.severity(episode.action) if stage is None else STAGE_SEVERITY[stage]
        return EventDecision(
            type=kind,
            action=episode.action,
            severity=severity,
            confidence=min(max(float(confidence), 0.0), 1.0),
            started_s=episode.started_s,
            ended_s=ended_s,
            stage=stage,
            stage_s=episode.stage_s if stage is not None else None,
        )
