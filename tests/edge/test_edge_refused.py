"""A device the cloud no longer takes stops with an error and keeps its outbox: the real
service (uvicorn, SQLite) revokes the device's token, the real agent (`vigil edge run`)
exits 5 with an ERROR line. A camera index with no camera exits 2 at start."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cloud.service.settings import Settings
from edge.outbox import OutboxStore
from shared.loopback import free_port
from tests.kit.edge import colour_video
from tests.kit.service import Server, ServerThread


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(env="production", admin_token=secrets.token_urlsafe(32),
                        database_url=f"sqlite:///{tmp_path / 'vigil.db'}", mqtt_url=None,
                        data_dir=tmp_path / "cloud", public_base_url=url)  # fmt: skip
    running = ServerThread(settings, port)
    yield running.start()
    running.stop()


def agent(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shared", "edge", "run", *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})  # fmt: skip


def test_a_revoked_device_stops_with_an_error_and_keeps_its_outbox(
    tmp_path: Path, model_file: Path, service: Server
) -> None:
    with httpx.Client(base_url=service.base_url, headers=service.admin) as admin:
        registered = admin.post("/api/v1/devices", json={"device_id": "cam-9", "site": "oak"})
        token = registered.json()["token"]
        (row,) = [t for t in admin.get("/api/v1/tokens").json() if t["device_id"] == "cam-9"]
        assert admin.delete(f"/api/v1/tokens/{row['id']}").status_code == 204  # revoked
    video = colour_video(tmp_path / "v.mp4", [("walking", 3.0), ("falling", 2.0)])
    data = tmp_path / "edge"
    env = {"VIGIL_DEVICE_TOKEN": token, "VIGIL_HTTP__FALLBACK_AFTER_S": "0"}
    done = agent("--source", str(video), "--model", str(model_file), "--cloud", service.base_url,
                 "--site", "oak", "--device-id", "cam-9", "--data-dir", str(data), "--realtime",
                 env=env)  # fmt: skip
    assert done.returncode == 5, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert any("the cloud refused this device's token" in line for line in errors), errors
    assert "401" in errors[0]
    outbox = OutboxStore(data / "outbox.sqlite", 10_000)
    try:
        assert outbox.depth() > 0  # what it could not deliver waits for a fixed token
    finally:
        outbox.close()


def test_a_camera_index_with_no_camera_fails_at_start(tmp_path: Path, model_file: Path) -> None:
    done = agent("--source", "63", "--model", str(model_file), "--print",
                 "--data-dir", str(tmp_path))  # fmt: skip
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "vigil edge run: cannot read source 63: no camera with this index can be opened"
        )
    )
