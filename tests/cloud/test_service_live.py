"""A separate ingest process (`vigil ingest`) still feeds the API's live stream."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.service.live_relay import PgListener
from cloud.service.services import build_services
from shared.messages import ActionEvent
from tests.kit.factories import SseListener, create_random_device, create_viewer, make_event
from tests.kit.service import Server


def test_events_stored_by_another_process_reach_the_stream(server: Server, tmp_path: Path) -> None:
    if server.backend != "postgresql":
        pytest.skip("the relay is PostgreSQL LISTEN/NOTIFY; SQLite runs in one process")
    listener = next(t for t in server.services.threads if isinstance(t, PgListener))
    assert listener.listening.wait(10)
    device = create_random_device(server)
    stream = SseListener(f"{server.base_url}/api/v1/stream", headers=create_viewer(server))
    assert stream.connected.wait(10)
    other = build_services(
        server.settings.model_copy(update={"data_dir": tmp_path, "mqtt_url": None}),
        serves_api=False,
    )
    event = ActionEvent.model_validate(make_event(device, action="bending"))
    try:
        result = other.ingestor.ingest_events([event], "mqtt")
        streamed = stream.wait_for("event", lambda d: d["event_id"] == str(event.event_id), 10)
    finally:
        other.close()
        stream.close()
    assert result.accepted == 1 and streamed["action"] == "bending"


def test_a_stream_for_one_site_carries_only_that_site(server: Server) -> None:
    here, there = create_random_device(server), create_random_device(server)
    viewer = create_viewer(server)
    url = f"{server.base_url}/api/v1/stream"
    stream = SseListener(url, params={"site": here.site}, headers=viewer)
    assert stream.connected.wait(10)
    first, second = make_event(there), make_event(here)
    try:
        for device, event in ((there, first), (here, second)):
            with server.client(device.headers) as client:
                assert client.post("/api/v1/events", json={"events": [event]}).status_code == 200
        got = stream.wait_for("event", lambda d: True, 10)
    finally:
        stream.close()
    assert got["event_id"] == second["event_id"]  # `there`'s, published first, never came
