"""Hypothesis-made MQTT payloads against the real Mosquitto and the real ingest: each
malformed one refused and counted once, the ingest alive, valid events after it stored."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from shared.topics import device_topic
from tests.kit.api_fuzz import fuzz_examples
from tests.kit.mqtt_fuzz import Publisher, publish_storm, valid_message
from tests.kit.outcomes import wait_for
from tests.kit.security import Callers, Server, metric

pytestmark = pytest.mark.services


@pytest.fixture
def publisher(mqtt_url: str) -> Iterator[Publisher]:
    client = Publisher(mqtt_url)
    yield client
    client.close()


def test_every_malformed_payload_is_refused_and_counted(
    fuzz_server: Server, fuzz_callers: Callers, publisher: Publisher
) -> None:
    device = fuzz_callers.device
    refused_before = metric(fuzz_server, "vigil_ingest_rejected_total", source="mqtt")
    errors_before = metric(fuzz_server, "vigil_ingest_errors_total")
    storm = publish_storm(
        publisher, fuzz_server.root, device.id, device.site, fuzz_examples(150), derandomize=True
    )

    def refused() -> float:
        return metric(fuzz_server, "vigil_ingest_rejected_total", source="mqtt") - refused_before

    wait_for(lambda: refused() >= storm.sent, 30, f"{storm.sent} refusals")
    time.sleep(1.0)  # nothing is counted twice, late
    assert refused() == storm.sent, storm.by_why
    assert metric(fuzz_server, "vigil_ingest_errors_total") == errors_before
    kinds = {"bytes", "json", "topic", "unregistered", "identity", "missing field", "bad value"}
    assert kinds <= set(storm.by_why), storm.by_why

    # The ingest survived: valid events published after the storm are stored.
    events = [valid_message("events", device.id, device.site) for _ in range(5)]
    for event in events:
        publisher.send(device_topic(device.site, device.id, "events", fuzz_server.root),
                       json.dumps(event).encode())  # fmt: skip
    wanted = {e["event_id"] for e in events}

    def stored() -> set[str]:
        params = {"device_id": device.id, "limit": 1000}
        rows = httpx.get(
            f"{fuzz_server.base_url}/api/v1/events", params=params, headers=fuzz_callers.admin
        ).json()
        return {row["event_id"] for row in rows} & wanted

    wait_for(lambda: stored() == wanted, 30, "the valid events after the storm")
    ready = httpx.get(f"{fuzz_server.base_url}/readyz").json()
    assert ready["checks"]["ingest_subscribed"], ready
