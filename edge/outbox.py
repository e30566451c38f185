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

A full disk gets the same policy. Without it a write fails with SQLITE_FULL and the event
is lost uncounted, critical or not (tests/faults, issue #9); worse, on a full disk SQLite
cannot even delete rows or checkpoint its WAL, which both need room to write. So:
- the outbox keeps a reserve file beside its database (re-created whenever the disk has
  room for it twice over), which no other writer can take;
- while less than `reserve_bytes` is free, the outbox does not grow: each new item pushes
  out the oldest non-critical one (counted in `dropped`), and the WAL is checkpointed and
  truncated after every write, so that it cannot eat the last free space;
- a write that still finds the disk full reclaims space cheapest first and retries:
  checkpoint and truncate the WAL (nothing lost), give up the reserve, then drop the
  oldest non-critical rows, a tenth of them per round (counted). Only if critical rows
  alone fill the disk does a write fail (`OutboxFull`).

Rows hold what a message is and whose (`kind`, `site`, `device_id`), never a topic: the
sender builds the topic when it sends (`shared.topics`, with the root configured then),
so a changed topic root or topic layout does not strand what is queued. An outbox of the
first schema (a `topic` per row) is migrated in place when opened, every row kept.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from shared.topics import TopicError, device_topic, parse_device_topic

log = logging.getLogger(__name__)

T = TypeVar("T")
# Room, on a full disk, for the transaction that drops rows, a WAL checkpoint and the
# critical events that come meanwhile: a transaction appends ~5 pages (20 kB) to the WAL.
RESERVE_BYTES = 256 * 1024

SCHEMA_VERSION = 2  # PRAGMA user_version; 0 or 1: the first schema, a topic per row
_OUTBOX_TABLE = """
CREATE TABLE IF NOT EXISTS {name} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    key TEXT NOT NULL UNIQUE,
    critical INTEGER NOT NULL,
    site TEXT NOT NULL,
    device_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    file_path TEXT,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);
"""
_SCHEMA = (
    _OUTBOX_TABLE.format(name="outbox")
    + """
CREATE INDEX IF NOT EXISTS outbox_kind ON outbox (kind, id);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
)
_COLUMNS = "id, kind, key, critical, site, device_id, payload, file_path, created_at, attempts"


class ItemKind(StrEnum):
    EVENT = "event"
    CLIP = "clip"


@dataclass(frozen=True)
class OutboxItem:
    """One queued message: `payload` is the JSON to send, `file_path` a clip's video;
    `site` and `device_id` are whose it is (as its payload says), to address it by."""

    kind: ItemKind
    key: str
    payload: str
    site: str
    device_id: str
    critical: bool = False
    file_path: str | None = None
    id: int | None = None
    attempts: int = 0

    def topic(self, root: str) -> str:
        """The event's MQTT topic under `root`; TopicError if its identity cannot be one."""
        if self.kind is not ItemKind.EVENT:
            raise TopicError(f"a {self.kind.value} has no topic: it travels over HTTP")
        return device_topic(self.site, self.device_id, "events", root=root)


class OutboxFull(RuntimeError):
    """The disk is full and only critical items are left to drop: this item cannot be queued."""


class OutboxStore:
    """Thread-safe: one connection behind a lock, and a condition that wakes the sender."""

    def __init__(
        self, path: Path, max_items: int = 10_000, reserve_bytes: int = RESERVE_BYTES
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_items = max_items
        self.reserve = self.path.with_name(self.path.name + ".reserve")
        self.reserve_bytes = reserve_bytes
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._open_schema()
        self._keep_reserve()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _open_schema(self) -> None:
        """Create the tables, or migrate an outbox of the first schema in place."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
        if "topic" in columns:
            moved = self._write(self._migrate_from_topics)
            log.info(
                "outbox %s: %d queued items migrated to schema %d", self.path, moved, SCHEMA_VERSION
            )
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _migrate_from_topics(self) -> int:
        """Rebuild the table without `topic` (sqlite.org/lang_altertable.html, section 7):
        every row keeps its id (so its order), attempts and clip file; whose it is comes
        from its payload (what the cloud checks), else from its old topic."""
        rows = self._db.execute(
            "SELECT id, kind, key, critical, topic, payload, file_path, created_at, attempts"
            " FROM outbox ORDER BY id"
        ).fetchall()
        self._db.execute("DROP TABLE IF EXISTS outbox_v2")
        self._db.execute(_OUTBOX_TABLE.format(name="outbox_v2"))
        self._db.executemany(
            f"INSERT INTO outbox_v2 ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(r[0], r[1], r[2], r[3], *_owner(r[5], r[4]), *r[5:]) for r in rows],
        )
        self._db.execute("DROP TABLE outbox")
        self._db.execute("ALTER TABLE outbox_v2 RENAME TO outbox")
        return len(rows)

    def put(self, item: OutboxItem) -> bool:
        """Queue an item; False if its key is already queued. Drops per the bound policy."""
        with self._lock:
            self._keep_reserve()
            dropped_files, added = self._write(lambda: (self._make_room(), self._insert(item)))
            self._changed.notify_all()
        _remove_files(dropped_files)
        return added

    # -- writing, and room on a full disk ------------------------------------------------

    def _transaction(self, work: Callable[[], T]) -> T:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            result = work()
            self._db.execute("COMMIT")
        except BaseException:
            # After SQLITE_FULL (and a few others) SQLite has already rolled back, and a
            # ROLLBACK would fail and hide the real error (sqlite.org/lang_transaction.html).
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        return result

    def _write(self, work: Callable[[], T]) -> T:
        """One write transaction; on a full disk, reclaim space step by step and retry."""
        try:
            result = self._transaction(work)
        except sqlite3.OperationalError as exc:
            if not _disk_full(exc):
                raise
            error = exc
        else:
            if self._tight():
                self._checkpoint()
            return result
        log.warning("outbox %s: disk full, reclaiming space", self.path)
        for _ in self._reclaim():
            try:
                return self._transaction(work)
            except sqlite3.OperationalError as exc:
                if not _disk_full(exc):
                    raise
                error = exc
        raise OutboxFull(f"{self.path}: disk full and only critical items left") from error

    def _reclaim(self) -> Iterator[None]:
        """Free space, cheapest first; yields after each step so the caller can retry."""
        self._checkpoint()
        yield
        if self.reserve.exists():
            self.reserve.unlink()
            log.warning(
                "outbox %s: disk full, released the %d-byte reserve", self.path, self.reserve_bytes
            )
            self._checkpoint()
            yield
        while self._drop_for_space():
            self._checkpoint()
            yield

    def _checkpoint(self) -> None:
        """Copy the WAL into the database and truncate it, giving its space back."""
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.OperationalError as exc:
            if not _disk_full(exc):
                raise

    def _drop_for_space(self) -> bool:
        """Drop the oldest tenth (at least one) of the non-critical rows; False if none."""

        def drop() -> list[str] | None:
            (count,) = self._db.execute("SELECT COUNT(*) FROM outbox WHERE critical = 0").fetchone()
            return self._drop_oldest(max(1, count // 10)) if count else None

        try:
            files = self._transaction(drop)
        except sqlite3.OperationalError as exc:
            if not _disk_full(exc):
                raise
            return False
        if files is None:
            return False
        _remove_files(files)  # clips: their files are most of the space
        return True

    def _keep_reserve(self) -> None:
        """(Re)create the reserve file, when the disk has room for it twice over."""
        if self.reserve_bytes <= 0 or self.reserve.exists():
            return
        try:
            if _free_bytes(self.path.parent) < 2 * self.reserve_bytes:
                return
            with self.reserve.open("wb") as fh:
                fh.write(bytes(self.reserve_bytes))  # written, not sparse: really allocated
                os.fsync(fh.fileno())
        except OSError as exc:
            log.warning("outbox %s: cannot keep a reserve: %s", self.path, exc)
            self.reserve.unlink(missing_ok=True)

    def _insert(self, item: OutboxItem) -> bool:
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO outbox (kind, key, critical, site, device_id, payload,"
            " file_path, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                item.kind.value,
                item.key,
                int(item.critical),
                item.site,
                item.device_id,
                item.payload,
                item.file_path,
                time.time(),
            ),
        )
        return cursor.rowcount == 1

    def _tight(self) -> bool:
        """Less than `reserve_bytes` free on the disk: the outbox must not grow."""
        return self.reserve_bytes > 0 and _free_bytes(self.path.parent) < self.reserve_bytes

    def _make_room(self) -> list[str]:
        """Delete the oldest non-critical rows until one more fits; return their files.

        Fits: at most `max_items` rows and, while the disk is tight, one in, one out.
        """
        (depth,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        excess = depth + 1 - self.max_items
        if excess <= 0 and self._tight():
            excess = 1
        if excess <= 0:
            return []
        return self._drop_oldest(excess)

    def _drop_oldest(self, count: int) -> list[str]:
        """Delete (and count) up to `count` oldest non-critical rows; return their files."""
        victims = self._db.execute(
            "SELECT id, file_path FROM outbox WHERE critical = 0 ORDER BY id LIMIT ?", (count,)
        ).fetchall()
        if not victims:
            return []
        self._db.executemany("DELETE FROM outbox WHERE id = ?", [(v[0],) for v in victims])
        self._bump("dropped", len(victims))
        log.warning("outbox full: dropped the %d oldest non-critical items", len(victims))
        return [v[1] for v in victims if v[1]]

    def _bump(self, name: str, by: int) -> None:
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            (name, by),
        )

    def next_seq(self) -> int:
        """A per-device sequence number that keeps increasing across restarts."""

        def bump() -> int:
            self._bump("seq", 1)
            (value,) = self._db.execute("SELECT value FROM counters WHERE name = 'seq'").fetchone()
            return int(value)

        with self._lock:
            value = self._write(bump)
        return value - 1

    def peek(self, kind: ItemKind, limit: int = 50) -> list[OutboxItem]:
        """The oldest items of a kind, in the order they were queued."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, kind, key, site, device_id, payload, critical, file_path, attempts"
                " FROM outbox WHERE kind = ? ORDER BY id LIMIT ?",
                (kind.value, limit),
            ).fetchall()
        return [
            OutboxItem(
                id=r[0],
                kind=ItemKind(r[1]),
                key=r[2],
                site=r[3],
                device_id=r[4],
                payload=r[5],
                critical=bool(r[6]),
                file_path=r[7],
                attempts=r[8],
            )
            for r in rows
        ]

    def remove(self, ids: list[int]) -> None:
        """Delete delivered items (and their clip files)."""
        if not ids:
            return
        marks = ",".join("?" * len(ids))

        def delete() -> list[str]:
            files = self._db.execute(
                f"SELECT file_path FROM outbox WHERE id IN ({marks})", ids
            ).fetchall()
            self._db.execute(f"DELETE FROM outbox WHERE id IN ({marks})", ids)
            return [f[0] for f in files if f[0]]

        with self._lock:
            files = self._write(delete)
            self._keep_reserve()  # deliveries may have made room for it again
        _remove_files(files)

    def mark_attempt(self, ids: list[int]) -> None:
        if not ids:
            return
        marks = ",".join("?" * len(ids))
        with self._lock:
            self._write(
                lambda: self._db.execute(
                    f"UPDATE outbox SET attempts = attempts + 1 WHERE id IN ({marks})", ids
                )
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


def _owner(payload: str, topic: str) -> tuple[str, str]:
    """(site, device_id) of a first-schema row: its payload's, else its topic's, else none.

    Events (ActionEvent) and clips (ClipMeta) both carry `site` and `device_id`. A row
    with neither cannot be addressed; it is kept, and the sender refuses it, counted.
    """
    try:
        data = json.loads(payload)
        if isinstance(data, dict) and {"site", "device_id"} <= data.keys():
            return str(data["site"]), str(data["device_id"])
    except ValueError:
        pass
    try:
        parsed = parse_device_topic(topic)
    except TopicError:
        return "", ""
    return parsed.site, parsed.device


def _disk_full(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


def _free_bytes(folder: Path) -> int:
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize


def _remove_files(paths: list[str]) -> None:
    for path in paths:
        try:
            Path(path).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("cannot delete %s: %s", path, exc)
