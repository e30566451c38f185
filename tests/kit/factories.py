"""Factories for the cloud tests: devices, events, clips, viewers; an SSE listener."""

from __future__ import annotations

import json
import queue
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from shared.broker import parse_mqtt_url
from shared.video import write_video


def random_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class TestDevice:
    __test__ = False
    id: str
    site: str
    token: str
    registration: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def create_random_device(server: Any, site: str | None = None) -> TestDevice:
    body = {"device_id": random_id("dev"), "site": site or random_id("site")}
    with server.client(server.admin) as client:
        response = client.post("/api/v1/devices", json=body)
    assert response.status_code == 201, response.text
    data = response.json()
    return TestDevice(body["device_id"], body["site"], data["token"], data)


def create_viewer(server: Any, name: str | None = None) -> dict[str, str]:
    with server.client(server.admin) as client:
        response = client.post("/api/v1/tokens", json={"name": name or random_id("nurse")})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def make_event(device: TestDevice, **overrides: Any) -> dict[str, Any]:
    event = {
        "event_id": str(uuid.uuid4()),
        "device_id": device.id,
        "site": device.site,
        "camera": "cam0",
        "type": "start",
        "action": "walking",
        "severity": "info",
        "confidence": 0.8,
        "started_at": datetime.now(UTC).isoformat(),
        "model_version": "student-test",
        "seq": 1,
    }
    return {**event, **overrides}


def make_fall_event(
    device: TestDevice, kind: str, stage: str, fell: datetime, after_s: float = 0.0,
    seq: int = 1, **overrides: Any,
) -> dict[str, Any]:  # fmt: skip
    """One event of a two-stage fall that began at `fell`, its stage decided `after_s` later
    (an end event ends then too): severity as the stage has it."""
    at = (fell + timedelta(seconds=after_s)).isoformat()
    fields: dict[str, Any] = {
        "type": kind, "action": "falling", "seq": seq, "started_at": fell.isoformat(),
        "severity": "critical" if stage == "confirmed" else "warning",
        "stage": stage, "stage_at": at, **({"ended_at": at} if kind == "end" else {}),
    }  # fmt: skip
    return make_event(device, **{**fields, **overrides})


def make_clip_meta(device: TestDevice, **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    meta = {
        "clip_id": str(uuid.uuid4()),
        "device_id": device.id,
        "site": device.site,
        "camera": "cam0",
        "reason": "unsure",
        "started_at": now,
        "ended_at": now,
        "model_version": "student-test",
        "predicted": "walking",
        "probabilities": {"walking": 0.5, "falling": 0.3, "sitting_down": 0.2},
        "entropy": 1.0,
        "margin": 0.2,
        "width": 32,
        "height": 32,
        "fps": 10.0,
        "frames": 10,
    }
    return {**meta, **overrides}


def write_test_video(path: Path, frames: int = 10, size: int = 32, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    images = [rng.integers(0, 255, (size, size, 3), dtype=np.uint8) for _ in range(frames)]
    return write_video(path, images, fps=10.0)


def mqtt_client(url: str) -> mqtt.Client:
    """A connected paho client (network loop running), as a device or a watcher."""
    address = parse_mqtt_url(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=random_id("test"))
    connected = threading.Event()
    client.on_connect = lambda *args: connected.set()
    client.connect(address.host, address.port)
    client.loop_start()
    assert connected.wait(10), "test MQTT client could not connect"
    return client


def subscribe(client: mqtt.Client, topic: str) -> list[mqtt.MQTTMessage]:
    """Subscribe (waiting for the SUBACK); the returned list fills with messages."""
    received: list[mqtt.MQTTMessage] = []
    acked = threading.Event()
    client.on_message = lambda _c, _u, message: received.append(message)
    client.on_subscribe = lambda *args: acked.set()
    client.subscribe(topic, qos=1)
    assert acked.wait(10), f"no SUBACK for {topic}"
    return received


def publish(client: mqtt.Client, topic: str, payload: bytes | str | dict) -> None:
    data = json.dumps(payload) if isinstance(payload, dict) else payload
    client.publish(topic, data, qos=1).wait_for_publish(10)


class SseListener:
    """Reads an SSE stream in a thread; `messages` receives (event kind, data dict)."""

    def __init__(
        self, url: str, params: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        self.messages: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.connected = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(5, read=None))
        self._args = (url, params or {}, headers or {})
        self.status_code: int | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        url, params, headers = self._args
        kind = "message"
        try:
            with self._client.stream("GET", url, params=params, headers=headers) as response:
                self.status_code = response.status_code
                for line in response.iter_lines():
                    if line.startswith(": connected"):
                        self.connected.set()
                    elif line.startswith("event: "):
                        kind = line[len("event: ") :]
                    elif line.startswith("data: "):
                        self.messages.put((kind, json.loads(line[len("data: ") :])))
        except httpx.HTTPError:
            pass
        finally:
            self.connected.set()

    def wait_for(self, kind: str, predicate, timeout: float) -> dict[str, Any]:
        import time

        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                got_kind, data = self.messages.get(timeout=left)
            except queue.Empty:
                break
            if got_kind == kind and predicate(data):
                return data
        raise AssertionError(f"no {kind!r} message matching on the stream within {timeout} s")

    def close(self) -> None:
        self._client.close()
