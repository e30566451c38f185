"""deploy/provision.py and deploy/bootstrap_model.py against a real cloud service and the
shipped broker: a provisioned device logs in with what provision wrote, publishes under
the shipped ACL, and the cloud's ingest (subscribed as `vigil.cloud`) stores its event.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from shared.loopback import free_port
from tests.kit.deploy import CLOUD_USER, DEPLOY, ROOT, Broker, always_model, connect, start_broker
from tests.kit.outcomes import wait_for

pytest.importorskip("fastapi", reason="the cloud service needs the service extra")

import uvicorn  # noqa: E402 - after the skip: only with the service extra

from cloud.service.app import create_app  # noqa: E402
from cloud.service.settings import Settings  # noqa: E402
from edge.config import load_settings  # noqa: E402

SITE = "rosehill"
CLOUD_PASSWORD = secrets.token_urlsafe(24)


@dataclass
class Stack:
    broker: Broker
    url: str
    admin_token: str

    def client(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def run(self, script: str, *args: str, token: bool = True) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "VIGIL_ADMIN_TOKEN"}
        if token:
            env["VIGIL_ADMIN_TOKEN"] = self.admin_token
        return subprocess.run(
            [sys.executable, str(DEPLOY / script), "--cloud", self.url, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The shipped broker, and `vigil serve` in-process (SQLite, ingest on, no worker)."""
    broker = start_broker(tmp_path_factory.mktemp("broker"), {CLOUD_USER: CLOUD_PASSWORD})
    port = free_port()
    settings = Settings(
        env="production",
        admin_token=secrets.token_urlsafe(32),
        database_url=f"sqlite:///{tmp_path_factory.mktemp('db')}/vigil.db",
        mqtt_url=f"mqtt://{CLOUD_USER}:{CLOUD_PASSWORD}@127.0.0.1:{broker.port}",
        mqtt_topic_root=ROOT,
        data_dir=tmp_path_factory.mktemp("data"),
        public_base_url=f"http://127.0.0.1:{port}",
        run_worker=False,
    )
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 60, "the cloud service to start")
        # Mosquitto 2.0 grants any subscription and applies the ACL per message: the
        # event test below, not this SUBACK, proves the ingest may read device topics.
        assert app.state.services.mqtt_ingest.wait_subscribed(10), "ingest not subscribed"
        yield Stack(broker, f"http://127.0.0.1:{port}", settings.admin_secret)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        broker.stop()


def read_env(path: Path) -> dict[str, str]:
    lines = [ln for ln in path.read_text().splitlines() if ln and ln[0] != "#"]
    return dict(ln.split("=", 1) for ln in lines)


def event_for(device: str) -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "device_id": device,
        "site": SITE,
        "camera": "lounge",
        "type": "start",
        "action": "falling",
        "severity": "critical",
        "confidence": 0.9,
        "started_at": datetime.now(UTC).isoformat(),
        "model_version": "student-test",
        "seq": 1,
    }


def test_a_provisioned_device_reaches_the_cloud_through_the_shipped_broker(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "room42"
    result = stack.run(
        "provision.py",
        *("--site", SITE, "--device", "room42", "--camera", "lounge", "--out", str(out)),
        *("--mqtt-url", stack.broker.url, "--broker-passwd", str(stack.broker.passwd)),
        *("--source", "/dev/video0"),
    )
    assert result.returncode == 0, result.stderr
    env = read_env(out / "edge.env")
    token = env["VIGIL_DEVICE_TOKEN"]
    assert (out / "edge.env").stat().st_mode & 0o777 == 0o600
    assert token not in result.stdout, "the token must not reach logs"
    assert (
        "room42:$7$" in result.stdout
        and "topic write vigil/rosehill/room42/events" in result.stdout
    )
    assert env["VIGIL_MQTT_PASSWORD"] == token and env["VIGIL_SOURCE"] == "/dev/video0"
    assert token not in (out / "edge.yaml").read_text()

    # The edge agent's own loader accepts what provision wrote (and refuses YAML secrets).
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(out / "edge.yaml")
    assert (settings.device_id, settings.site, settings.mqtt.username) == ("room42", SITE, "room42")
    assert settings.mqtt.topic_root == ROOT  # read off the cloud's ACL lines
    assert settings.model.public_key and "PUBLIC KEY" in settings.model.public_key
    assert settings.cloud_url == stack.url

    stack.broker.reload()  # as the compose entrypoint does when the devices file changes
    password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
    device = connect(stack.broker.port, settings.mqtt.username, password, "vigil-edge-room42")
    assert not device.refused, device.code
    event = event_for("room42")
    device.publish(f"{ROOT}/{SITE}/room42/events", json.dumps(event).encode())
    device.close()

    def stored() -> list[dict[str, object]]:
        with stack.client() as client:
            return client.get("/api/v1/events", params={"device_id": "room42"}).json()

    rows = wait_for(stored, 15, "the cloud to store the device's event", interval=0.2)
    assert [row["event_id"] for row in rows] == [event["event_id"]]


def test_provision_never_registers_a_device_twice(stack: Stack, tmp_path: Path) -> None:
    out = tmp_path / "room43"
    args = ("--site", SITE, "--device", "room43", "--out", str(out))
    assert stack.run("provision.py", *args).returncode == 0
    again = stack.run("provision.py", *args, "--skip-if-present")
    assert again.returncode == 0 and "already provisioned" in again.stdout
    overwrite = stack.run("provision.py", *args)
    assert overwrite.returncode == 1 and "edge.env exists" in overwrite.stderr
    elsewhere = stack.run("provision.py", *args[:4], "--out", str(tmp_path / "other"))
    assert elsewhere.returncode == 1 and "registered already" in elsewhere.stderr
    other = ("--site", SITE, "--device", "other", "--out", str(out), "--skip-if-present")
    wrong = stack.run("provision.py", *other)
    assert wrong.returncode == 1 and "holds device 'room43'" in wrong.stderr
    no_token = stack.run("provision.py", *args[:4], "--out", str(tmp_path / "x"), token=False)
    assert no_token.returncode == 1 and "VIGIL_ADMIN_TOKEN is not set" in no_token.stderr
    with stack.client() as client:
        devices = client.get("/api/v1/devices", params={"site": SITE}).json()
    assert [d["id"] for d in devices].count("room43") == 1


def test_bootstrap_waits_for_a_pending_job_instead_of_queuing_another(stack: Stack) -> None:
    with stack.client() as client:
        queued = client.post("/api/v1/training-jobs", json={"dataset": "synthetic", "epochs": 1})
        assert queued.status_code == 202, queued.text
        result = stack.run("bootstrap_model.py", "--site", SITE, "--wait", "1", "--poll", "0.2")
        assert result.returncode == 1 and "still running" in result.stderr, result.stderr
        assert queued.json()["id"] in result.stdout
        jobs = client.get("/api/v1/training-jobs").json()
        assert [job["id"] for job in jobs] == [queued.json()["id"]]
        client.post(f"/api/v1/training-jobs/{queued.json()['id']}/cancel")


def test_the_real_edge_agent_runs_on_what_provision_wrote(stack: Stack, tmp_path: Path) -> None:
    """`vigil edge run` with edge.yaml + edge.env as the systemd unit passes them: its events
    go through the shipped broker (device user, pattern ACL) into the cloud's database."""
    pytest.importorskip("onnx", reason="the test model is built with onnx (dev extra)")
    from shared.synth import parse_script, write_scenario

    out, data = tmp_path / "room44", tmp_path / "data"
    video = tmp_path / "scenario.mp4"
    write_scenario(video, parse_script("walking:3"), seed=0, size=64, fps=15.0)
    labels = ("walking", "sitting_down", "falling", "lying_on_floor", "no_person")
    model = tmp_path / "always.onnx"
    model.write_bytes(always_model("walking", labels, "always-1"))
    provisioned = stack.run(
        "provision.py",
        *("--site", SITE, "--device", "room44", "--out", str(out), "--source", str(video)),
        *("--mqtt-url", stack.broker.url, "--broker-passwd", str(stack.broker.passwd)),
        *("--data-dir", str(data)),
    )
    assert provisioned.returncode == 0, provisioned.stderr
    stack.broker.reload()
    env = {**os.environ, **read_env(out / "edge.env")}
    agent = subprocess.run(
        [sys.executable, "-m", "shared", "edge", "run", "--config", str(out / "edge.yaml")]
        + ["--source", env["VIGIL_SOURCE"], "--cloud", env["VIGIL_CLOUD_URL"]]
        + ["--model", str(model), "--max-seconds", "30"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert agent.returncode == 0, agent.stderr[-2000:]
    assert "0 items left in the outbox" in agent.stderr, agent.stderr[-2000:]

    def walking() -> list[dict[str, object]]:
        with stack.client() as client:
            params = {"device_id": "room44", "action": "walking"}
            return client.get("/api/v1/events", params=params).json()

    rows = wait_for(walking, 15, "the agent's events in the cloud", interval=0.2)
    assert {row["site"] for row in rows} == {SITE}
    # Over MQTT, not the HTTP fallback: that path is what the broker's ACL governs.
    with stack.client() as client:
        metrics = client.get("/metrics").text
    assert 'vigil_ingest_events_total{source="http"}' not in metrics, metrics
    assert 'vigil_ingest_events_total{source="mqtt"}' in metrics, metrics
    with stack.client() as client:
        device = client.get("/api/v1/devices/room44").json()
    assert device["last_heartbeat_at"] is not None, device
