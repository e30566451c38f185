"""The outbox on a real, full filesystem (a small tmpfs): the drop policy holds there too.

Before the fix a write on a full disk raised SQLITE_FULL (hidden behind "cannot rollback"),
the event was lost uncounted, critical or not, and the outbox could neither delete nor
checkpoint to get out of it (issue #9, tests/faults).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from edge.outbox import RESERVE_BYTES, ItemKind, OutboxItem, OutboxStore
from tests.kit.faults import fill, free_bytes

pytestmark = pytest.mark.services


def event(critical: bool) -> OutboxItem:
    key = str(uuid.uuid4())
    return OutboxItem(ItemKind.EVENT, key, "x" * 600, "s", "d", critical=critical)


def test_on_a_full_disk_oldest_non_critical_go_first_counted_and_critical_stay(
    small_disk: Path,
) -> None:
    store = OutboxStore(small_disk / "outbox.sqlite")
    assert store.reserve.stat().st_size == RESERVE_BYTES
    first = event(critical=False)
    store.put(first)
    fill(small_disk, 0)  # another writer takes every free byte
    assert free_bytes(small_disk) == 0
    put = [event(critical=i % 4 == 0) for i in range(600)]
    for item in put:
        store.next_seq()
        store.put(item)  # never raises: room is made per the policy
    queued = [i.key for i in store.peek(ItemKind.EVENT, 10_000)]
    critical = [i.key for i in put if i.critical]
    assert set(critical) <= set(queued)  # 150 falls on a full disk, none dropped
    non_critical = [i.key for i in [first, *put] if not i.critical]
    kept = [k for k in non_critical if k in queued]
    assert kept == non_critical[len(non_critical) - len(kept) :]  # the oldest went first
    assert store.dropped() == len(non_critical) - len(kept) > 0  # ... and were counted


def test_after_delivery_frees_the_disk_the_reserve_comes_back(small_disk: Path) -> None:
    store = OutboxStore(small_disk / "outbox.sqlite")
    filler = fill(small_disk, 0)
    for i in range(40):
        store.put(event(critical=i % 2 == 0))
    assert not store.reserve.exists()  # spent on the full disk
    filler.unlink()
    store.remove([i.id for i in store.peek(ItemKind.EVENT, 100) if i.id is not None])
    assert store.depth() == 0 and store.reserve.stat().st_size == RESERVE_BYTES
