"""The live stream across processes (PostgreSQL LISTEN/NOTIFY).

When `vigil ingest` or `vigil worker` runs apart from the API, what they store must
still reach the API's SSE clients. They NOTIFY on a channel; the API process LISTENs
and hands each message to its hub. Within one process, parts publish to the hub
directly, so a message never arrives twice. (SQLite is the single-process default: it
has no such channel, and needs none.)
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, Protocol

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from cloud.service.live import LiveHub

log = logging.getLogger(__name__)

CHANNEL = "vigil_live"
MAX_PAYLOAD = 7900  # PostgreSQL refuses NOTIFY payloads of 8000 bytes or more


class LiveSink(Protocol):
    def publish(self, kind: str, data: dict[str, Any]) -> None: ...


class PgNotifySink:
    """Publishes stream messages as NOTIFYs (for processes that serve no API)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        payload = json.dumps({"kind": kind, "data": data}, default=str, separators=(",", ":"))
        if len(payload.encode()) > MAX_PAYLOAD:
            log.warning("live %s message of %d bytes is too large to relay", kind, len(payload))
            return
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": CHANNEL, "payload": payload},
                )
        except Exception:  # the data is stored; only the live copy is lost
            log.exception("could not relay a live %s message", kind)


class PgListener(threading.Thread):
    """In the API process: LISTEN and pass every relayed message to the hub."""

    def __init__(self, database_url: str, hub: LiveHub, stop: threading.Event) -> None:
        super().__init__(name="vigil-live-listener", daemon=True)
        self._dsn = (
            make_url(database_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )
        self._hub, self._halt = hub, stop
        self.listening = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self._listen()
            except psycopg.Error as exc:
                self.listening.clear()
                log.warning("live listener lost the database (%s); reconnecting", exc)
                self._halt.wait(2.0)

    def _listen(self) -> None:
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            while not self._halt.is_set():
                for note in conn.notifies(timeout=1.0):
                    self._relay(note.payload)

    def _relay(self, payload: str) -> None:
        try:
            message = json.loads(payload)
            self._hub.publish(str(message["kind"]), dict(message["data"]))
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed live message: %.200s", payload)
