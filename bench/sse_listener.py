"""A dashboard-like client of `/api/v1/stream`: records each message with its arrival time."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Arrival:
    kind: str
    data: dict[str, Any]
    at: float  # time.time() when its `data:` line was read (same clock as other processes)


@dataclass
class SseListener:
    """Reads the live stream in a thread; keeps the messages of `keep` kinds, counts all."""

    base_url: str
    token: str
    site: str | None = None
    keep: tuple[str, ...] = ("alert",)
    arrivals: list[Arrival] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    connected: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self, timeout: float = 30.0) -> SseListener:
        import httpx

        self._http = httpx.Client(timeout=httpx.Timeout(10, read=None))
        self._thread = threading.Thread(target=self._listen, name="sse", daemon=True)
        self._thread.start()
        if not self.connected.wait(timeout):
            raise RuntimeError(f"the SSE stream did not connect: {self.error!r}")
        return self

    def _listen(self) -> None:
        params = {"token": self.token, **({"site": self.site} if self.site else {})}
        kind = ""
        try:
            with self._http.stream("GET", self.base_url + "/api/v1/stream", params=params) as r:
                r.raise_for_status()
                for line in r.iter_lines():
                    if line.startswith(": connected"):
                        self.connected.set()
                    elif line.startswith("event: "):
                        kind = line[len("event: ") :]
                    elif line.startswith("data: "):
                        self._record(kind, line[len("data: ") :])
        except Exception as exc:  # kept for the report, raised by stop()
            if not self._stop.is_set():
                self.error = exc

    def _record(self, kind: str, data: str) -> None:
        now = time.time()
        self.counts[kind] += 1
        if kind in self.keep:
            self.arrivals.append(Arrival(kind, json.loads(data), now))

    def stop(self) -> None:
        """Close the stream; raise what broke it early, if anything did."""
        self._stop.set()
        self._http.close()
        self._thread.join(5)
        if self.error is not None:
            raise RuntimeError(f"the SSE stream failed: {self.error!r}") from self.error
