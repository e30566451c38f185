"""The HTTP fallback posts the outbox's batch in one request, against the real service
(uvicorn, PostgreSQL): a backlog drains in few requests, one event the cloud refuses is
isolated and dropped alone, and a 5xx keeps everything queued."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from cloud.service.schemas import MAX_BATCH
from edge.config import HttpConfig
from edge.outbox import ItemKind, OutboxItem, OutboxStore
from edge.sender import OutboxSender
from edge.stats import AgentStats
from edge.transport.http import MAX_EVENTS_PER_POST, CloudClient, HttpTransport
from tests.kit.factories import TestDevice, create_random_device, make_event
from tests.kit.outcomes import wait_for
from tests.kit.security import Server, running_service

pytestmark = [pytest.mark.services]


@pytest.fixture(scope="module")
def server(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`vigil serve` on a fresh PostgreSQL database, HTTP only (no broker)."""
    with running_service(postgres_url, None, tmp_path_factory.mktemp("http") / "data") as s:
        yield s


def queue_events(store: OutboxStore, device: TestDevice, events: list[dict[str, Any]]) -> None:
    for event in events:
        store.put(
            OutboxItem(
                kind=ItemKind.EVENT,
                key=event["event_id"],
                payload=json.dumps(event),
                site=device.site,
                device_id=device.id,
            )
        )


@contextmanager
def sending(
    server: Server, device: TestDevice, store: OutboxStore, batch: int = 50
) -> Iterator[OutboxSender]:
    """A running sender with only HTTP, as the agent builds it without a broker."""
    stop = threading.Event()
    config = HttpConfig(retries=0, backoff_s=0.05)
    http = HttpTransport(CloudClient(server.base_url, device.token, config, stop))
    sender = OutboxSender(store, None, http, AgentStats(), stop, batch=batch)
    sender.start()
    try:
        yield sender
    finally:
        stop.set()
        store.wake()
        sender.join(10)
        http.stop()


def stored_ids(server: Server, device: TestDevice) -> set[str]:
    with server.client(server.admin) as client:
        response = client.get("/api/v1/events", params={"device_id": device.id, "limit": 1000})
    response.raise_for_status()
    return {e["event_id"] for e in response.json()}


def test_the_edge_and_the_cloud_agree_on_the_largest_batch() -> None:
    assert MAX_EVENTS_PER_POST == MAX_BATCH


def test_a_backlog_drains_in_one_request_per_batch(server: Server, tmp_path: Path) -> None:
    device = create_random_device(server)
    store = OutboxStore(tmp_path / "o.sqlite")
    events = [make_event(device, seq=i) for i in range(120)]
    queue_events(store, device, events)
    with sending(server, device, store, batch=50) as sender:
        assert sender.flush(30)
        assert sender.http_posts == 3  # 50 + 50 + 20, not 120 requests
        assert sender.delivered["http"] == 120
    assert stored_ids(server, device) == {e["event_id"] for e in events}


def test_a_batch_larger_than_the_cloud_takes_goes_in_several_posts(
    server: Server, tmp_path: Path
) -> None:
    device = create_random_device(server)
    store = OutboxStore(tmp_path / "o.sqlite")
    queue_events(store, device, [make_event(device, seq=i) for i in range(MAX_BATCH + 5)])
    with sending(server, device, store, batch=MAX_BATCH + 5) as sender:
        assert sender.flush(60)
        assert sender.http_posts == 2  # MAX_BATCH, then 5: the cloud refuses more at once
    assert store.depth() == 0


def test_one_refused_event_is_dropped_alone_and_the_rest_delivered(
    server: Server, tmp_path: Path
) -> None:
    device = create_random_device(server)
    store = OutboxStore(tmp_path / "o.sqlite")
    events = [make_event(device, seq=i) for i in range(20)]
    bad = events[7]
    bad["confidence"] = 7.0  # not a probability: the cloud answers 422 for its batch
    queue_events(store, device, events)
    with sending(server, device, store) as sender:
        assert sender.flush(30)
        assert sender.delivered == {"mqtt": 0, "http": 19, "clips": 0, "rejected": 1}
        assert sender.stats.get("errors") == 1
        assert sender.stats.last_error is not None and bad["event_id"] in sender.stats.last_error
        # Halving down to the bad one: about 2 log2(20) requests more, not 20.
        assert sender.http_posts <= 1 + 2 * math.ceil(math.log2(20))
    assert store.depth() == 0
    assert stored_ids(server, device) == {e["event_id"] for e in events} - {bad["event_id"]}


def rename_events_table(server: Server, old: str, new: str) -> None:
    """Take the events table away (every ingest then answers 500), or give it back."""
    url = make_url(server.settings.sqlalchemy_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f"ALTER TABLE IF EXISTS {old} RENAME TO {new}")


def test_a_5xx_keeps_everything_queued_until_the_cloud_recovers(
    server: Server, tmp_path: Path
) -> None:
    device = create_random_device(server)
    store = OutboxStore(tmp_path / "o.sqlite")
    events = [make_event(device, seq=i) for i in range(30)]
    queue_events(store, device, events)
    rename_events_table(server, "events", "events_away")  # before the sender starts
    try:
        with server.client(device.headers) as client:
            probe = client.post("/api/v1/events", json={"events": [make_event(device)]})
        assert probe.status_code == 500
        with sending(server, device, store) as sender:
            wait_for(lambda: sender.http_posts >= 3, 30, "the sender to retry")
            assert store.depth() == 30 and sender.delivered["rejected"] == 0
            assert all(item.attempts >= 1 for item in store.peek(ItemKind.EVENT))
            rename_events_table(server, "events_away", "events")
            assert sender.flush(30)
    finally:
        rename_events_table(server, "events_away", "events")  # whatever failed, for the next
    assert stored_ids(server, device) == {e["event_id"] for e in events}
    assert httpx.get(f"{server.base_url}/healthz", timeout=5).status_code == 200
