"""An outbox written by the first schema (a topic per row) keeps working after the upgrade:
migrated in place when opened, every queued event and clip delivered, under the topic
root configured now rather than the one baked into the old rows."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import pytest

from edge.config import HttpConfig, MqttConfig
from edge.outbox import SCHEMA_VERSION, ItemKind, OutboxStore
from edge.sender import OutboxSender
from edge.stats import AgentStats
from edge.transport.http import CloudClient, HttpTransport
from edge.transport.mqtt import MqttTransport
from shared.broker import parse_mqtt_url
from shared.topics import device_topic
from tests.kit.edge import CloudStub, MqttRecorder
from tests.kit.factories import TestDevice, make_clip_meta, make_event, write_test_video
from tests.kit.outcomes import wait_for

# What the first schema's OutboxStore created and inserted (edge/outbox.py before the
# kind-keyed rows), byte for byte: sqlite_master of a file it wrote holds this SQL.
V1_SCHEMA = """
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
V1_INSERT = (
    "INSERT OR IGNORE INTO outbox (kind, key, critical, topic, payload, file_path,"
    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
OLD_ROOT = "vigil"


def write_v1_outbox(path: Path, rows: list[tuple[str, str, bool, str, str, str | None]]) -> None:
    """A first-schema outbox as the agent left it: WAL, full sync, rows and counters."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(V1_SCHEMA)
    for kind, key, critical, topic, payload, file_path in rows:
        db.execute(V1_INSERT, (kind, key, int(critical), topic, payload, file_path, time.time()))
    db.execute("DELETE FROM outbox WHERE key = 'delivered-before-the-upgrade'")
    db.execute("UPDATE outbox SET attempts = 3 WHERE kind = 'event'")  # tried while offline
    db.execute("INSERT INTO counters (name, value) VALUES ('seq', 7), ('dropped', 2)")
    db.close()  # no checkpoint: rows may still sit in the WAL, as after a crash


@pytest.fixture
def v1_outbox(tmp_path: Path) -> tuple[Path, TestDevice, list[str], Path]:
    """A first-schema outbox holding three events (one critical) and a clip with its video."""
    device = TestDevice("cam1", f"site-{uuid.uuid4().hex[:8]}", "token", {})
    topic = device_topic(device.site, device.id, "events", root=OLD_ROOT)
    events = [make_event(device, seq=i) for i in range(3)]
    events[1]["severity"], events[1]["action"] = "critical", "falling"
    video = write_test_video(tmp_path / "clips" / "c1.mp4")
    clip = make_clip_meta(device)
    rows: list[tuple[str, str, bool, str, str, str | None]] = [
        ("event", "delivered-before-the-upgrade", False, topic, "{}", None),
        *[("event", e["event_id"], e is events[1], topic, json.dumps(e), None) for e in events],
        ("clip", clip["clip_id"], False, "", json.dumps(clip), str(video)),
    ]
    path = tmp_path / "outbox.sqlite"
    write_v1_outbox(path, rows)
    return path, device, [e["event_id"] for e in events], video


def test_a_v1_outbox_is_migrated_in_place_keeping_every_row(
    v1_outbox: tuple[Path, TestDevice, list[str], Path], caplog: pytest.LogCaptureFixture
) -> None:
    path, device, event_ids, video = v1_outbox
    with caplog.at_level(logging.INFO, logger="edge.outbox"):
        store = OutboxStore(path)
    assert "4 queued items migrated to schema 2" in caplog.text
    events = store.peek(ItemKind.EVENT)
    assert [e.key for e in events] == event_ids  # order kept
    assert [e.critical for e in events] == [False, True, False]
    assert {(e.site, e.device_id, e.attempts) for e in events} == {(device.site, device.id, 3)}
    [clip] = store.peek(ItemKind.CLIP)
    assert (clip.site, clip.device_id, clip.file_path) == (device.site, device.id, str(video))
    assert store.next_seq() == 7 and store.dropped() == 2  # the counters survive
    store.close()

    db = sqlite3.connect(path)
    columns = {row[1] for row in db.execute("PRAGMA table_info(outbox)")}
    assert "topic" not in columns and {"site", "device_id"} <= columns
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="edge.outbox"):
        again = OutboxStore(path)  # opening a migrated outbox changes nothing
    assert "migrated" not in caplog.text and again.depth() == 4


@pytest.mark.services
def test_queued_v1_rows_are_delivered_under_the_topic_root_configured_now(
    v1_outbox: tuple[Path, TestDevice, list[str], Path], mqtt_url: str, cloud: CloudStub
) -> None:
    path, device, event_ids, video = v1_outbox
    new_root = f"vigil-new-{uuid.uuid4().hex[:8]}"
    topic = device_topic(device.site, device.id, "events", root=new_root)
    recorder = MqttRecorder(mqtt_url, [topic])
    stop = threading.Event()
    mqtt = MqttTransport(
        MqttConfig(url=mqtt_url, topic_root=new_root),
        parse_mqtt_url(mqtt_url),
        client_id=f"migration-{uuid.uuid4().hex[:8]}",
        status_topic=device_topic(device.site, device.id, "status", root=new_root),
        online_payload=lambda: b"online",
        offline_payload=lambda: b"offline",
    )
    http = HttpTransport(CloudClient(cloud.url, "token", HttpConfig(), stop))
    video_bytes = video.read_bytes()
    store = OutboxStore(path)
    sender = OutboxSender(store, mqtt, http, AgentStats(), stop, topic_root=new_root)
    mqtt.start()
    sender.start()
    try:
        assert sender.flush(30), f"{store.depth()} items left"
        assert sender.delivered == {"mqtt": 3, "http": 0, "clips": 1, "rejected": 0}
        wait_for(lambda: len(recorder.on(topic)) == 3, 10, "the events under the new root")
        assert [m.json()["event_id"] for m in recorder.on(topic)] == event_ids
        [(meta, uploaded)] = cloud.clips()
        assert uploaded == video_bytes and meta["device_id"] == device.id
        assert not video.exists()  # delivered: its file goes with its row
    finally:
        stop.set()
        store.wake()
        sender.join(10)
        mqtt.stop()
        recorder.stop()
        store.close()
