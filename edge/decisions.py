"""The decision stage: window results -> event state machine -> queued events.

The state machine is rebuilt when a model with other labels takes over (its open
episodes end first) and follows threshold changes from the cloud as they arrive.
"""

from __future__ import annotations

import logging
import queue
import threading

from edge.config import EventConfig
from edge.emit import EventSink
from edge.events import EventDecision, EventRules, EventStateMachine
from edge.inference import ResultQueue, WindowResult
from edge.stats import AgentStats
from edge.thresholds import LiveThresholds
from shared.messages import Thresholds
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
        lying_labels=frozenset(config.lying_labels),
        no_person_label=config.no_person_label,
    )


class DecisionWorker(threading.Thread):
    def __init__(
        self,
        results: ResultQueue,
        sink: EventSink,
        config: EventConfig,
        thresholds: LiveThresholds,
        stats: AgentStats,
        stop_event: threading.Event,
    ) -> None:
        super().__init__(name="decisions", daemon=True)
        self.results = results
        self.sink = sink
        self.config = config
        self.thresholds = thresholds
        self.stats = stats
        self.stop_event = stop_event
        self.events_emitted = 0
        self._machine: EventStateMachine | None = None
        self._labels: tuple[str, ...] = ()
        self._model_version = ""
        self._thresholds_seen = -1
        self._last_t = 0.0

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                result = self.results.get(timeout=1)
            except queue.Empty:
                continue
            if result is None:
                self._emit_all(self._close(self._last_t))
                break
            try:
                self._emit_all(self._decide(result))
            except Exception as exc:
                log.exception("decision at %.2f s failed", result.t_end)
                self.stats.error(f"decisions: {exc}")
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
