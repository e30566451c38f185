"""The decision stage: window results -> event state machine -> queued events.

The state machine is rebuilt when a model with other labels takes over (its open
episodes end first) and follows threshold changes from the cloud as they arrive.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from edge.config import EventConfig
from edge.emit import EventSink
from edge.events import EventDecision, EventRules, EventStateMachine
from edge.inference import ResultQueue, WindowResult
from edge.stage import QueueWorker
from edge.stats import AgentStats
from edge.thresholds import LiveThresholds
from shared.messages import EventType, FallStage, Thresholds
from shared.modelmeta import ModelMetadata

log = logging.getLogger(__name__)


def rules_for(meta: ModelMetadata, config: EventConfig, thresholds: Thresholds) -> EventRules:
    """The state machine's rules: labels from the model, everything else from the config."""
    return EventRules(
        labels=tuple(meta.labels),
        fall_labels=frozenset(meta.fall_labels),
        severities=dict(meta.severities),
        thresholds=thresholds,
        smoothing_windows=config.smoothing_windows,
        min_start_s=config.min_start_s,
        min_end_s=config.min_end_s,
        fall_hold_s=config.fall_hold_s,
        update_interval_s=config.update_interval_s,
        long_lie_s=config.long_lie_s,
        confirm_s=config.confirm_s,
        confirm_share=config.confirm_share,
        lying_labels=frozenset(config.lying_labels),
        no_person_label=config.no_person_label,
    )


class AlertClips(Protocol):
    """Where a confirmed fall asks for its clip (`edge.clips.ClipCollector`)."""

    def request_alert(self, result: WindowResult, since_s: float) -> None: ...

    def close(self) -> None: ...


def confirmed_here(decision: EventDecision, result: WindowResult) -> bool:
    """The decision that confirmed a fall at this very window (not a later update)."""
    return (
        decision.stage is FallStage.CONFIRMED
        and decision.type is not EventType.END
        and decision.stage_s == result.t_end
    )


class DecisionWorker(QueueWorker[WindowResult]):
    """Window results in, events out; at the end of the stream, every open episode ends."""

    def __init__(
        self,
        results: ResultQueue,
        sink: EventSink,
        config: EventConfig,
        thresholds: LiveThresholds,
        stats: AgentStats,
        stop_event: threading.Event,
        alert_clips: AlertClips | None = None,
    ) -> None:
        super().__init__("decisions", results, stats, stop_event)
        self.alert_clips = alert_clips
        self.sink = sink
        self.config = config
        self.thresholds = thresholds
        self.events_emitted = 0
        self._machine: EventStateMachine | None = None
        self._labels: tuple[str, ...] = ()
        self._model_version = ""
        self._thresholds_seen = -1
        self._last_t = 0.0

    def handle(self, item: WindowResult) -> None:
        decisions = self._decide(item)
        if self._machine is not None:  # the room's learning phase
            self.stats.fall_score(self._machine.down_score)
        self._emit_all(decisions)
        if self.alert_clips is not None:
            for decision in decisions:
                if confirmed_here(decision, item):
                    self.alert_clips.request_alert(item, decision.started_s)

    def describe(self, item: WindowResult) -> str:
        return f"decision at {item.t_end:.2f} s"

    def end_of_stream(self) -> None:
        self._emit_all(self._close(self._last_t))

    def on_exit(self) -> None:
        if self.alert_clips is not None:
            self.alert_clips.close()  # the last stage that asks for clips
        log.info("decisions ended (%d events)", self.events_emitted)

    def _decide(self, result: WindowResult) -> list[EventDecision]:
        out: list[EventDecision] = []
        if self._machine is None or result.labels != self._labels:
            out += self._close(result.t_end)
            self._machine = EventStateMachine(
                rules_for(result.meta, self.config, self.thresholds.get())
            )
            self._labels, self._thresholds_seen = result.labels, self.thresholds.version
        if self.thresholds.version != self._thresholds_seen:
            self._machine.set_thresholds(self.thresholds.get())
            self._thresholds_seen = self.thresholds.version
        self._model_version, self._last_t = result.model_version, result.t_end
        return out + self._machine.step(result.probs, result.t_end)

    def _close(self, t: float) -> list[EventDecision]:
        return self._machine.close(t) if self._machine is not None else []

    def _emit_all(self, decisions: list[EventDecision]) -> None:
        for decision in decisions:
            self.sink.emit(decision, self._model_version)
            self.events_emitted += 1
            log.info(
                "event %s %s (%.2f)", decision.type.value, decision.action, decision.confidence
            )
