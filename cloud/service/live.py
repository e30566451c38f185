"""The live stream hub: ingest threads publish, each SSE client reads its own queue.

Publishing never blocks an ingest thread: a client too slow to keep up loses messages
(counted) instead of holding everyone back.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from cloud.service.metrics import ServiceMetrics

QUEUE_SIZE = 1000
KEEPALIVE_S = 15.0
_CLOSED = object()


@dataclass
class _Subscriber:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Any]
    site: str | None = None

    def wants(self, data: dict[str, Any]) -> bool:
        return self.site is None or data.get("site") == self.site


class LiveHub:
    def __init__(self, metrics: ServiceMetrics) -> None:
        self._metrics = metrics
        self._lock = threading.Lock()
        self._subscribers: list[_Subscriber] = []
        self._closed = False

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Send one message to every client; callable from any thread."""
        message = format_sse(kind, data)
        with self._lock:
            subscribers = list(self._subscribers)
        for sub in subscribers:
            if sub.wants(data):
                sub.loop.call_soon_threadsafe(self._offer, sub, message)

    def _offer(self, sub: _Subscriber, message: Any) -> None:
        try:
            sub.queue.put_nowait(message)
        except asyncio.QueueFull:
            self._metrics.live_dropped.inc()

    async def stream(self, site: str | None = None) -> AsyncIterator[str]:
        """SSE text for one client (one site's, or all), with keep-alive comments."""
        sub = _Subscriber(asyncio.get_running_loop(), asyncio.Queue(QUEUE_SIZE), site)
        with self._lock:
            if self._closed:
                return
            self._subscribers.append(sub)
            self._metrics.live_clients.set(len(self._subscribers))
        try:
            yield ": connected\n\n"
            while True:
                try:
                    message = await asyncio.wait_for(sub.queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    message = ": keep-alive\n\n"
                if message is _CLOSED:
                    return
                yield message
        finally:
            with self._lock:
                self._subscribers.remove(sub)
                self._metrics.live_clients.set(len(self._subscribers))

    def close(self) -> None:
        """End every stream (at shutdown, so that the server need not wait for clients)."""
        with self._lock:
            self._closed = True
            subscribers = list(self._subscribers)
        for sub in subscribers:
            sub.loop.call_soon_threadsafe(_end, sub.queue)


def _end(queue: asyncio.Queue[Any]) -> None:
    if queue.full():
        queue.get_nowait()  # the client is closing anyway: make room for the end mark
    queue.put_nowait(_CLOSED)


def format_sse(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, default=str, separators=(',', ':'))}\n\n"
