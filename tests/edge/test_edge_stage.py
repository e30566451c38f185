"""The stage threads' base: a bad item is counted and skipped, None ends the stream, the
stop event ends the loop within its bounded wait."""

from __future__ import annotations

import queue
import threading
import time

import pytest

from edge.stage import QueueWorker
from edge.stats import AgentStats


class Doubler(QueueWorker[int]):
    """Doubles each number; 13 is a bad item. Records what the hooks saw."""

    def __init__(self, wait_s: float = 1.0, fail_at_end: bool = False) -> None:
        self.items: queue.Queue[int | None] = queue.Queue()
        super().__init__("doubler", self.items, AgentStats(), threading.Event(), wait_s=wait_s)
        self.out: list[int] = []
        self.ended = self.exited = 0
        self.fail_at_end = fail_at_end

    def handle(self, item: int) -> None:
        if item == 13:
            raise ValueError("unlucky")
        self.out.append(2 * item)

    def describe(self, item: int) -> str:
        return f"number {item}"

    def end_of_stream(self) -> None:
        self.ended += 1
        if self.fail_at_end:
            raise RuntimeError("could not close")

    def on_exit(self) -> None:
        self.exited += 1


def run_through(worker: Doubler, items: list[int | None]) -> None:
    for item in items:
        worker.items.put(item)
    worker.start()
    worker.join(10)
    assert not worker.is_alive()


def test_an_item_that_raises_is_counted_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = Doubler()
    run_through(worker, [1, 13, 2, None])
    assert worker.out == [2, 4]
    assert worker.stats.get("errors") == 1
    assert worker.stats.last_error == "doubler: number 13: unlucky"
    assert "doubler: number 13 failed" in caplog.text
    assert caplog.records[0].name == __name__  # logged as the stage's own module


def test_none_ends_the_stream_and_what_follows_is_never_handled() -> None:
    worker = Doubler()
    run_through(worker, [1, None, 5])
    assert worker.out == [2]
    assert (worker.ended, worker.exited) == (1, 1)
    assert worker.items.get_nowait() == 5


def test_a_failing_end_of_stream_is_counted_and_the_stage_still_exits() -> None:
    worker = Doubler(fail_at_end=True)
    run_through(worker, [None])
    assert (worker.ended, worker.exited) == (1, 1)
    assert worker.stats.last_error == "doubler: end of stream: could not close"


def test_the_stop_event_ends_the_loop_within_its_bounded_wait() -> None:
    worker = Doubler(wait_s=0.1)
    worker.start()
    worker.items.put(1)
    time.sleep(0.2)
    worker.stop_event.set()
    started = time.monotonic()
    worker.join(5)
    assert not worker.is_alive()
    assert time.monotonic() - started < 1.0  # one bounded wait (0.1 s), not forever
    assert worker.out == [2]
    assert (worker.ended, worker.exited) == (0, 1)  # stopped, not ended: on_exit only
