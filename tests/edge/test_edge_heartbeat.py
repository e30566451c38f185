"""Heartbeat contents from real counters, a real process and a real outbox; HTTP model polling."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from edge.config import HttpConfig
from edge.emit import DeviceIdentity
from edge.heartbeat import HealthProbe
from edge.outbox import ItemKind, OutboxItem, OutboxStore
from edge.stats import AgentStats, percentile_ms
from edge.transport.http import CloudClient, HttpTransport
from shared.messages import DeviceState, ModelAnnouncement
from shared.topics import model_topic
from tests.kit.edge import CloudStub, Signer, colour_model
from tests.kit.outcomes import wait_for


def test_percentiles_in_milliseconds() -> None:
    assert percentile_ms([], 50) == 0.0
    latencies = [0.001 * i for i in range(1, 101)]
    assert percentile_ms(latencies, 50) == pytest.approx(50.5)
    assert percentile_ms(latencies, 95) == pytest.approx(95.05)


def test_heartbeat_reports_rates_latency_outbox_drops_and_errors(tmp_path: Path) -> None:
    stats = AgentStats()
    outbox = OutboxStore(tmp_path / "o.sqlite", max_items=10)
    for i in range(12):
        outbox.put(
            OutboxItem(kind=ItemKind.EVENT, key=f"e{i}", payload="{}", site="s", device_id="d")
        )
    probe = HealthProbe(DeviceIdentity("dev1", "site1"), stats, outbox, lambda: "v7")
    stats.count("frames_in", 30)
    stats.count("frames_out", 25)
    for ms in (10, 20, 30, 40):
        stats.inference(ms / 1000)
    stats.set_camera(False)
    stats.error("camera rtsp://cam lost")
    beat = probe.heartbeat()
    assert beat.status is DeviceState.ONLINE and (beat.device_id, beat.site) == ("dev1", "site1")
    assert beat.fps_in > beat.fps_out > 0
    assert beat.latency_ms_p50 == pytest.approx(25) and beat.latency_ms_p95 > 38
    assert (beat.outbox_depth, beat.dropped) == (10, 2)
    assert not beat.camera_ok and beat.last_error == "camera rtsp://cam lost"
    assert beat.model_version == "v7" and beat.memory_mb > 10
    assert probe.heartbeat().fps_in == 0.0  # rates are per interval: nothing new since


def test_http_transport_polls_the_current_model(cloud: CloudStub, signer: Signer) -> None:
    artifact = colour_model("test-3")
    cloud.current = signer.announce(artifact, "test-3", "/m", site="site1")
    transport = HttpTransport(CloudClient(cloud.url, None, HttpConfig()), model_poll_s=0.05)
    seen: list[ModelAnnouncement] = []
    lock = threading.Lock()

    def handler(topic: str, payload: bytes) -> None:
        assert topic == model_topic("site1")
        with lock:
            seen.append(ModelAnnouncement.model_validate_json(payload))

    transport.subscribe(model_topic("site1"), handler)
    wait_for(lambda: len(seen) >= 2, 5, "two polls")
    transport.stop()
    assert seen[0] == cloud.current
