"""A durable, bounded queue of events and clips waiting for delivery (SQLite).

Delivery is at-least-once: a row leaves the outbox only after the broker's PUBACK or the
cloud's 2xx, so a crash re-sends it and the cloud drops the duplicate by its idempotency
key (`event_id`, `clip_id`), which is the row's unique `key` too.

Durability: WAL with `synchronous=FULL`. In WAL mode NORMAL survives a process crash
(`kill -9`) but may lose the last commits on power loss (https://sqlite.org/pragma.html
#pragma_synchronous); a fall event must survive a power cut, and events are a few per
minute, so the extra fsync per commit costs nothing that matters.

Bound: at most `max_items` rows. When full, the oldest non-critical rows go first
(counted in `dropped`, persisted across restarts, reported in the heartbeat); critical
rows (falls, long lies) are never dropped, even if that means exceeding the bound.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    key TEXT NOT NULL UNIQUE,
    critical INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    file_path TEXT,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_kind ON outbox (kind, id);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class ItemKind(StrEnum):
    EVENT = "event"
    CLIP = "clip"


@dataclass(frozen=True)
class OutboxItem:
    """One queued message: `payload` is the JSON to send, `file_path` a clip's video."""

    kind: ItemKind
    key: str
    topic: str
    payload: str
    critical: bool = False
    file_path: str | None = None
    id: int | None = None
    attempts: int = 0


class OutboxStore:
    """Thread-safe: one connection behind a lock, and a condition that wakes the sender."""

    def __init__(self, path: Path, max_items: int = 10_000) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_items = max_items
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def put(self, item: OutboxItem) -> bool:
        """Queue an item; False if its key is already queued. Drops per the bound policy."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                dropped_files = self._make_room()
                added = self._insert(item)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._changed.notify_all()
        _remove_files(dropped_files)
        return added

    def _insert(self, item: OutboxItem) -> bool:
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO outbox (kind, key, critical, topic, payload, file_path,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                item.kind.value,
                item.key,
                int(item.critical),
                item.topic,
                item.payload,
                item.file_path,
                time.time(),
            ),
        )
        return cursor.rowcount == 1

    def _make_room(self) -> list[str]:
        """Delete the oldest non-critical rows until one more fits; return their files."""
        (depth,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        excess = depth + 1 - self.max_items
        if excess <= 0:
            return []
        victims = self._db.execute(
            "SELECT id, file_path FROM outbox WHERE critical = 0 ORDER BY id LIMIT ?", (excess,)
        ).fetchall()
        if not victims:
            return []
        self._db.executemany("DELETE FROM outbox WHERE id = ?", [(v[0],) for v in victims])
        self._bump("dropped", len(victims))
        log.warning("outbox full (%d items): dropped %d oldest non-critical", depth, len(victims))
        return [v[1] for v in victims if v[1]]

    def _bump(self, name: str, by: int) -> None:
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            (name, by),
        )

    def next_seq(self) -> int:
        """A per-device sequence number that keeps increasing across restarts."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._bump("seq", 1)
            (value,) = self._db.execute("SELECT value FROM counters WHERE name = 'seq'").fetchone()
            self._db.execute("COMMIT")
        return int(value) - 1

    def peek(self, kind: ItemKind, limit: int = 50) -> list[OutboxItem]:
        """The oldest items of a kind, in the order they were queued."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, kind, key, topic, payload, critical, file_path, attempts FROM outbox"
                " WHERE kind = ? ORDER BY id LIMIT ?",
                (kind.value, limit),
            ).fetchall()
        return [
            OutboxItem(
                id=r[0],
                kind=ItemKind(r[1]),
                key=r[2],
                topic=r[3],
                payload=r[4],
                critical=bool(r[5]),
                file_path=r[6],
                attempts=r[7],
            )
            for r in rows
        ]

    def remove(self, ids: list[int]) -> None:
        """Delete delivered items (and their clip files)."""
        if not ids:
            return
        marks = ",".join("?" * len(ids))
        with self._lock:
            files = self._db.execute(
                f"SELECT file_path FROM outbox WHERE id IN ({marks})", ids
            ).fetchall()
            self._db.execute(f"DELETE FROM outbox WHERE id IN ({marks})", ids)
        _remove_files([f[0] for f in files if f[0]])

    def mark_attempt(self, ids: list[int]) -> None:
        if not ids:
            return
        marks = ",".join("?" * len(ids))
        with self._lock:
            self._db.execute(
                f"UPDATE outbox SET attempts = attempts + 1 WHERE id IN ({marks})", ids
            )

    def depth(self, kind: ItemKind | None = None) -> int:
        with self._lock:
            if kind is None:
                (n,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
            else:
                (n,) = self._db.execute(
                    "SELECT COUNT(*) FROM outbox WHERE kind = ?", (kind.value,)
                ).fetchone()
        return int(n)

    def dropped(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM counters WHERE name = 'dropped'").fetchone()
        return int(row[0]) if row else 0

    def wait_for_items(self, timeout: float) -> None:
        """Block until something is queued or `timeout` passes (a bounded wait)."""
        with self._changed:
            self._changed.wait(timeout)

    def wake(self) -> None:
        """Release anyone in `wait_for_items` (used at shutdown)."""
        with self._changed:
            self._changed.notify_all()

    def referenced_files(self) -> set[str]:
        with self._lock:
            rows = self._db.execute("SELECT file_path FROM outbox WHERE file_path IS NOT NULL")
            return {r[0] for r in rows.fetchall()}


def sweep_orphan_clips(store: OutboxStore, clip_dir: Path) -> int:
    """Delete clip files no row points to (a crash between writing a file and queueing it)."""
    if not clip_dir.is_dir():
        return 0
    keep = store.referenced_files()
    orphans = [p for p in clip_dir.glob("*.mp4") if str(p) not in keep]
    _remove_files([str(p) for p in orphans])
    return len(orphans)


def _remove_files(paths: list[str]) -> None:
    for path in paths:
        try:
            Path(path).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("cannot delete %s: %s", path, exc)
