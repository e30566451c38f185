"""A real service for the security and fuzz tests: uvicorn on 127.0.0.1, PostgreSQL (the
production database, and the stricter one about what it stores), the MQTT ingest.

The cloud tests' harness (`tests.kit.service`) starts it; this adds the
three kinds of caller every check needs: the admin, a viewer and two devices.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from cloud.service.settings import Settings
from shared.loopback import free_port
from tests.kit.factories import (
    TestDevice,
    create_random_device,
    create_viewer,
    make_clip_meta,
    random_id,
)
from tests.kit.postgres import postgres_database
from tests.kit.service import CLIP_LIMIT, Server, ServerThread

__all__ = ["CLIP_LIMIT", "Callers", "Server", "TestDevice", "random_id", "running_service"]


@dataclass
class Callers:
    """One token of each kind, as Authorization headers (devices keep their ids too)."""

    admin: dict[str, str]
    viewer: dict[str, str]
    device: TestDevice
    other_device: TestDevice

    def headers(self, role: str) -> dict[str, str]:
        return {
            "admin": self.admin,
            "viewer": self.viewer,
            "device": self.device.headers,
            "other_device": self.other_device.headers,
        }[role]


def make_callers(server: Server) -> Callers:
    return Callers(
        admin=server.admin,
        viewer=create_viewer(server),
        device=create_random_device(server),
        other_device=create_random_device(server),
    )


@contextmanager
def running_service(
    postgres_url: str, mqtt_url: str | None, data_dir: Path, **overrides: Any
) -> Iterator[Server]:
    """`vigil serve` in-process on a fresh PostgreSQL database; no training worker."""
    with postgres_database(postgres_url) as db_url:
        port = free_port()
        settings = Settings(
            **{
                "env": "production",
                "admin_token": secrets.token_urlsafe(32),
                "database_url": db_url,
                "mqtt_url": mqtt_url,
                "mqtt_topic_root": random_id("sec"),
                "data_dir": data_dir,
                "public_base_url": f"http://127.0.0.1:{port}",
                "dataset_roots": [data_dir / "datasets"],
                "clip_max_bytes": CLIP_LIMIT,
                "run_worker": False,
                **overrides,
            }
        )
        (data_dir / "datasets").mkdir(parents=True, exist_ok=True)
        running = ServerThread(settings, port)
        try:
            yield running.start()
        finally:
            running.stop()


def metric(server: Server, name: str, **labels: str) -> float:
    """The sum of the service's /metrics series `name` whose labels include `labels`."""
    text = httpx.get(f"{server.base_url}/metrics", timeout=10).text
    wanted = {f'{k}="{v}"' for k, v in labels.items()}
    total = 0.0
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        metric_name, _, inside = series.partition("{")
        if metric_name == name and wanted <= set(inside.rstrip("}").split(",")):
            total += float(value)
    return total


def upload_clip(
    server: Server,
    callers: Callers,
    video: bytes,
    filename: str = "clip.mp4",
    content_type: str = "video/mp4",
) -> httpx.Response:
    """POST /clips as the first device, with valid metadata and `video` as the file."""
    meta = json.dumps(make_clip_meta(callers.device))
    with server.client(callers.device.headers) as client:
        return client.post(
            "/api/v1/clips",
            data={"meta": meta},
            files={"video": (filename, video, content_type)},
        )
