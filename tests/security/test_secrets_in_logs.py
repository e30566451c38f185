"""Secrets never reach the logs: `vigil -v serve` and `vigil -v edge run` as real
processes with known secrets (admin, device and viewer tokens, the broker passwords, the
signing key), driven through sign-in, a bad token, the live stream's `?token=`, events
over MQTT; then both processes' whole output is searched for every secret."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from shared.loopback import free_port
from tests.kit.edge import colour_model, colour_video
from tests.kit.mosquitto import Mosquitto
from tests.kit.outcomes import wait_for
from tests.kit.postgres import create_postgres_database, drop_postgres_database

pytestmark = [pytest.mark.services, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


@contextmanager
def vigil(args: list[str], env: dict[str, str], log: Path, cwd: Path) -> Iterator[None]:
    """`python -m shared -v ARGS` with its stdout and stderr going to `log`; SIGTERM after."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shared", "-v", *args],
            cwd=cwd,
            env={**os.environ, "PYTHONPATH": str(REPO), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def open_stream_briefly(url: str, token: str) -> None:
    """A dashboard's EventSource: the token in the query, the stream closed after a moment."""
    with httpx.Client(timeout=10) as client:
        with client.stream("GET", url, params={"token": token}) as response:
            assert response.status_code == 200
            next(response.iter_lines())


def test_no_secret_appears_in_the_service_or_agent_logs(tmp_path: Path, postgres_url: str) -> None:
    admin, cloud_pw = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    broker = Mosquitto(tmp_path).start()  # anonymous: any password is taken, none is checked
    db_url = create_postgres_database(postgres_url)
    port, data = free_port(), tmp_path / "cloud-data"
    base = f"http://127.0.0.1:{port}"
    service_env = {
        "VIGIL_ADMIN_TOKEN": admin,
        "DATABASE_URL": db_url,
        "VIGIL_MQTT_URL": f"mqtt://vigil-cloud:{cloud_pw}@127.0.0.1:{broker.port}",
        "VIGIL_DATA_DIR": str(data),
        "VIGIL_RUN_WORKER": "false",
    }
    service_log, agent_log = tmp_path / "service.log", tmp_path / "agent.log"
    try:
        with vigil(["serve", "--port", str(port)], service_env, service_log, tmp_path):
            wait_for(lambda: _ready(base), 60, "vigil serve")
            as_admin = {"Authorization": f"Bearer {admin}"}
            device = httpx.post(
                f"{base}/api/v1/devices",
                json={"device_id": "room1", "site": "rosehill"},
                headers=as_admin,
            ).json()
            viewer = httpx.post(
                f"{base}/api/v1/tokens", json={"name": "nurse"}, headers=as_admin
            ).json()["token"]
            guessed = f"vgl_{secrets.token_urlsafe(32)}"
            bogus = httpx.get(
                f"{base}/api/v1/events", headers={"Authorization": f"Bearer {guessed}"}
            )
            assert bogus.status_code == 401
            stream = threading.Thread(
                target=open_stream_briefly, args=(f"{base}/api/v1/stream", viewer)
            )
            stream.start()
            stream.join(15)
            run_agent(tmp_path, base, broker.port, device["token"], agent_log)
            wait_for(
                lambda: httpx.get(
                    f"{base}/api/v1/events", params={"device_id": "room1"}, headers=as_admin
                ).json(),
                30,
                "the agent's events in the cloud",
            )
    finally:
        broker.stop()
        drop_postgres_database(db_url)

    signing_key = (data / "keys" / "model-signing.key").read_text()
    known = {
        "admin token": admin,
        "cloud broker password": cloud_pw,
        "device token": device["token"],
        "viewer token": viewer,
        "guessed token": guessed,
        "signing key": "".join(signing_key.splitlines()[1:-1]),
    }
    logs = {"service": service_log.read_text(), "agent": agent_log.read_text()}
    assert "GET /api/v1/stream?token=[redacted]" in logs["service"]  # the access log ran
    assert "POST /api/v1/devices" in logs["service"]
    assert "room1" in logs["agent"]
    leaks = [
        (what, where) for what, s in known.items() for where, text in logs.items() if s in text
    ]
    assert not leaks, leaks


def run_agent(tmp: Path, base: str, broker_port: int, token: str, log: Path) -> None:
    """The agent over a short video to its end (it drains its outbox before it exits)."""
    model = tmp / "student.onnx"
    model.write_bytes(colour_model("test-1"))
    video = colour_video(tmp / "room.mp4", [("walking", 2.0), ("falling", 2.0)])
    env = {
        "VIGIL_DEVICE_TOKEN": token,
        "VIGIL_MQTT_PASSWORD": token,
        "VIGIL_MQTT__USERNAME": "room1",
        "VIGIL_EVENTS__MIN_START_S": "0.5",
    }
    args = [
        *("edge", "run", "--source", str(video), "--model", str(model), "--cloud", base),
        *("--mqtt", f"mqtt://127.0.0.1:{broker_port}", "--site", "rosehill"),
        *("--device-id", "room1", "--data-dir", str(tmp / "edge-data"), "--max-seconds", "30"),
    ]
    with log.open("w") as out:
        done = subprocess.run(
            [sys.executable, "-m", "shared", "-v", *args],
            cwd=tmp,
            env={**os.environ, "PYTHONPATH": str(REPO), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=90,
        )
    assert done.returncode == 0, log.read_text()[-2000:]


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
