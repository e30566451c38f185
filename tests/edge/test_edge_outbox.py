"""The durable outbox on a real SQLite file: order, ack/remove, reopen, bound, kill -9."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from edge.outbox import ItemKind, OutboxItem, OutboxStore, sweep_orphan_clips
from tests.kit.edge import REPO


def event(key: str, critical: bool = False) -> OutboxItem:
    return OutboxItem(
        kind=ItemKind.EVENT,
        key=key,
        payload=f'{{"k": "{key}"}}',
        site="s",
        device_id="d",
        critical=critical,
    )


def clip(key: str, file_path: str | None = None) -> OutboxItem:
    return OutboxItem(
        kind=ItemKind.CLIP, key=key, payload="{}", site="s", device_id="d", file_path=file_path
    )


def test_items_come_out_in_queue_order_and_leave_when_acked(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.sqlite")
    for key in "abcde":
        store.put(event(key))
    first = store.peek(ItemKind.EVENT, 3)
    assert [i.key for i in first] == ["a", "b", "c"]
    store.remove([first[0].id, first[2].id])  # type: ignore[list-item]
    assert [i.key for i in store.peek(ItemKind.EVENT)] == ["b", "d", "e"]
    assert store.depth() == 3


def test_the_idempotency_key_is_queued_once(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.sqlite")
    assert store.put(event("same"))
    assert not store.put(event("same"))
    assert store.depth() == 1


def test_kinds_are_peeked_apart(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.sqlite")
    store.put(event("e1"))
    store.put(clip("c1"))
    assert [i.key for i in store.peek(ItemKind.CLIP)] == ["c1"]
    assert store.depth(ItemKind.EVENT) == 1 and store.depth(ItemKind.CLIP) == 1


def test_survives_reopening_with_counters(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    store = OutboxStore(path, max_items=10)
    store.put(event("kept"))
    seqs = [store.next_seq() for _ in range(3)]
    store.close()
    again = OutboxStore(path, max_items=10)
    assert [i.key for i in again.peek(ItemKind.EVENT)] == ["kept"]
    assert again.next_seq() == seqs[-1] + 1  # sequence numbers keep increasing


def test_wal_and_full_sync_are_on(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.sqlite")
    store.put(event("x"))
    db = sqlite3.connect(tmp_path / "o.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent in the file
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_full_outbox_drops_oldest_non_critical_and_counts(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.sqlite", max_items=10)
    for i in range(6):
        store.put(event(f"crit{i}", critical=True))
    for i in range(8):
        store.put(event(f"info{i}"))
    keys = [i.key for i in store.peek(ItemKind.EVENT, 100)]
    assert keys == [f"crit{i}" for i in range(6)] + ["info4", "info5", "info6", "info7"]
    assert store.dropped() == 4


def test_critical_events_are_never_dropped_even_beyond_the_bound(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.sqlite", max_items=10)
    for i in range(15):
        store.put(event(f"crit{i}", critical=True))
    assert store.depth() == 15 and store.dropped() == 0
    store.put(event("info"))
    assert store.depth() == 16  # nothing non-critical older to drop, so it stays too


def test_dropping_a_clip_deletes_its_file(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.sqlite", max_items=10)
    video = tmp_path / "clips" / "c.mp4"
    video.parent.mkdir()
    video.write_bytes(b"x")
    store.put(clip("c", str(video)))
    for i in range(10):
        store.put(event(f"e{i}"))
    assert not video.exists() and store.dropped() == 1


def test_orphan_clip_files_are_swept(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.sqlite")
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "orphan.mp4").write_bytes(b"x")
    kept = clips / "kept.mp4"
    kept.write_bytes(b"x")
    store.put(clip("k", str(kept)))
    assert sweep_orphan_clips(store, clips) == 1
    assert kept.exists() and not (clips / "orphan.mp4").exists()


CHILD = textwrap.dedent(
    """
    import sys
    from edge.outbox import ItemKind, OutboxItem, OutboxStore
    store = OutboxStore(sys.argv[1])
    for i in range(100000):
        store.put(OutboxItem(kind=ItemKind.EVENT, key=f"k{i}", payload="{}", site="s",
                             device_id="d", critical=i % 2 == 0))
        print(f"k{i}", flush=True)
    """
)


def test_sigkill_mid_write_leaves_a_readable_outbox_with_every_committed_item(
    tmp_path: Path,
) -> None:
    path = tmp_path / "o.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    committed = [child.stdout.readline().strip() for _ in range(200)]
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    committed += [line.strip() for line in child.stdout.read().splitlines()]
    assert child.returncode == -signal.SIGKILL

    store = OutboxStore(path)
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    keys = {i.key for i in store.peek(ItemKind.EVENT, 1_000_000)}
    assert set(committed) <= keys  # every item acknowledged to the writer is there
    assert len(keys) - len(committed) <= 1  # at most the one being printed when killed
    assert store.depth() == len(keys)
