"""The decision thresholds in force, shared by the event and clip stages (thread-safe).

An operator changes them on a running device with a `set_thresholds` Command; readers
take the whole frozen `Thresholds` at once, so they never see half an update.
"""

from __future__ import annotations

import threading

from shared.messages import Thresholds


class LiveThresholds:
    def __init__(self, initial: Thresholds) -> None:
        self._lock = threading.Lock()
        self._value = initial
        self._version = 0

    def get(self) -> Thresholds:
        with self._lock:
            return self._value

    def set(self, value: Thresholds) -> None:
        with self._lock:
            self._value = value
            self._version += 1

    @property
    def version(self) -> int:
        """Bumped on every change, so a stage can notice one cheaply."""
        with self._lock:
            return self._version
