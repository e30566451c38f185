"""The stage threads of the pipeline (after frigate's `object_detection/base.py`).

Every stage is a named daemon thread sharing the agent's one `stop_event` and its stats.
A `QueueWorker` takes items from its queue with bounded waits, so a stop request is
noticed within `wait_s`; `None` ends the stream. One bad item is logged, counted in the
stats (the heartbeat's `errors` and `last_error`) and skipped: the loop goes on.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from functools import partial
from typing import Generic, TypeVar

from edge.stats import AgentStats

T = TypeVar("T")
R = TypeVar("R")


class StageThread(threading.Thread):
    """A pipeline stage: a daemon thread with the shared stop event and stats."""

    def __init__(self, name: str, stats: AgentStats, stop_event: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.stats = stats
        self.stop_event = stop_event
        # Log as the stage's own module, so its lines read as they always have.
        self.log = logging.getLogger(type(self).__module__)

    def guarded(self, step: Callable[[], R], what: str) -> R | None:
        """Run one step; a failure is logged and counted, never raised (then None)."""
        try:
            return step()
        except Exception as exc:
            self.log.exception("%s: %s failed", self.name, what)
            self.stats.error(f"{self.name}: {what}: {exc}")
            return None


class QueueWorker(StageThread, Generic[T]):
    """Handle each item of `inbox` until `None` (end of stream) or the stop event."""

    def __init__(
        self,
        name: str,
        inbox: queue.Queue[T | None],
        stats: AgentStats,
        stop_event: threading.Event,
        wait_s: float = 1.0,
    ) -> None:
        super().__init__(name, stats, stop_event)
        self.inbox = inbox
        self.wait_s = wait_s

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                item = self.inbox.get(timeout=self.wait_s)
            except queue.Empty:
                continue
            if item is None:
                self.guarded(self.end_of_stream, "end of stream")
                break
            self.guarded(partial(self.handle, item), self.describe(item))
        self.on_exit()

    def handle(self, item: T) -> None:
        """Do this stage's work on one item (raise on failure: the loop counts it)."""
        raise NotImplementedError

    def describe(self, item: T) -> str:
        """The item in a log line when it fails."""
        return type(item).__name__

    def end_of_stream(self) -> None:
        """The stream ended (`None` came): finish what is open. Nothing by default."""

    def on_exit(self) -> None:
        """The loop ended, by the end of the stream or the stop event. Nothing by default."""
