"""A dependency-free progress line for long steps (the edge install has no tqdm)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressLine:
    """Prints `label [#####.....] done/total elapsed` on one line, at most every 0.2 s."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = max(total, 1)
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._last_tenth = -1
        # A log file gets a line per tenth of the work, not hundreds of redraws.
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, done: int, total: int | None = None) -> None:
        if total is not None:
            self.total = max(total, 1)
        now = time.monotonic()
        if not self.interactive:
            self._log_line(done, now)
            return
        if done < self.total and now - self._last_draw < 0.2:
            return
        self._last_draw = now
        width = 30
        filled = int(width * min(done, self.total) / self.total)
        bar = "#" * filled + "." * (width - filled)
        end = "\n" if done >= self.total else ""
        self.stream.write(
            f"\r{self.label} [{bar}] {done}/{self.total} {now - self.started:5.1f}s{end}"
        )
        self.stream.flush()

    def _log_line(self, done: int, now: float) -> None:
        tenth = min(10, 10 * done // self.total)
        if tenth == self._last_tenth:
            return
        self._last_tenth = tenth
        self.stream.write(f"{self.label} {done}/{self.total} {now - self.started:.1f}s\n")
        self.stream.flush()
