"""`vigil devices add` output works in a real Mosquitto: the device logs in with its token
and may publish only under its own topic.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cloud.service.cli import register
from cloud.service.mosquitto import password_line, verify_password_line
from cloud.service.settings import Settings
from shared.loopback import free_port
from tests.kit.outcomes import wait_for
from tests.kit.service import ServerThread

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
ROOT = "vigil"


def devices_add(site: str, device: str, capsys: pytest.CaptureFixture[str]) -> dict:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["devices", "add", site, device, "--json"])
    assert args.handler(args) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A running service (real uvicorn, SQLite) and the CLI's environment pointing at it."""
    port = free_port()
    settings = Settings(env="production", admin_token=secrets.token_urlsafe(32),
                        database_url=f"sqlite:///{tmp_path / 'vigil.db'}", mqtt_url=None,
                        mqtt_topic_root=ROOT, data_dir=tmp_path / "data",
                        public_base_url=f"http://127.0.0.1:{port}")  # fmt: skip
    running = ServerThread(settings, port)
    running.start()
    monkeypatch.setenv("VIGIL_ADMIN_TOKEN", settings.admin_secret)
    monkeypatch.setenv("VIGIL_CLOUD_URL", f"http://127.0.0.1:{port}")
    yield tmp_path
    running.stop()


@pytest.fixture
def broker(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[tuple[int, dict, dict]]:
    """A Mosquitto of our own with the lines `vigil devices add` printed for two devices."""
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto is not installed")
    first = devices_add("rosehill", "room1", capsys)
    second = devices_add("rosehill", "room2", capsys)
    passwd = cli_env / "passwd"
    passwd.write_text(
        "\n".join(
            [
                first["mqtt"]["password_file_line"],
                second["mqtt"]["password_file_line"],
                password_line("cloud", "cloud-secret"),
            ]
        )
        + "\n"
    )
    acl = cli_env / "acl"
    acl.write_text(
        "\n".join(
            [
                *first["mqtt"]["acl_lines"],
                "",
                *second["mqtt"]["acl_lines"],
                "",
                "user cloud",
                f"topic read {ROOT}/#",
            ]
        )
        + "\n"
    )
    port = free_port()
    conf = cli_env / "mosquitto.conf"
    # As root, Mosquitto switches to its own user, which cannot read pytest's tmp dir.
    stay = "user root\n" if os.geteuid() == 0 else ""
    conf.write_text(
        f"{stay}listener {port} 127.0.0.1\nallow_anonymous false\npersistence false\n"
        f"password_file {passwd}\nacl_file {acl}\n"
    )
    process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stderr=subprocess.PIPE)
    wait_for(lambda: _port_open(port) or process.poll() is not None, 10, "mosquitto to listen")
    assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
    yield port, first, second
    process.terminate()
    process.wait(timeout=10)


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def connect(
    port: int, username: str | None, password: str | None
) -> tuple[mqtt.Client, mqtt.ReasonCode | None]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{secrets.token_hex(4)}")
    if username:
        client.username_pw_set(username, password)
    result: list = []
    done = threading.Event()

    def on_connect(c, u, flags, reason_code, properties) -> None:
        result.append(reason_code)
        done.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", port)
    client.loop_start()
    done.wait(10)
    return client, (result[0] if result else None)


def test_a_device_logs_in_with_its_token_and_publishes_only_its_own_topics(broker) -> None:
    port, first, second = broker
    cloud, code = connect(port, "cloud", "cloud-secret")
    assert code is not None and not code.is_failure
    seen: list[str] = []
    subscribed = threading.Event()
    cloud.on_message = lambda c, u, m: seen.append(m.topic)
    cloud.on_subscribe = lambda *args: subscribed.set()
    cloud.subscribe(f"{ROOT}/#", qos=1)
    assert subscribed.wait(10)
    device, code = connect(port, first["device"]["id"], first["token"])
    assert code is not None and not code.is_failure
    mine = f"{ROOT}/rosehill/room1/events"
    theirs = f"{ROOT}/rosehill/room2/events"
    device.publish(theirs, b"{}", qos=1).wait_for_publish(5)  # the broker drops it (ACL)
    device.publish(mine, b"{}", qos=1).wait_for_publish(5)
    wait_for(lambda: mine in seen, 10, "the device's own message")
    for client in (cloud, device):
        client.loop_stop()
    assert theirs not in seen


def test_a_wrong_or_missing_password_is_refused(broker) -> None:
    port, first, second = broker
    _, wrong = connect(port, first["device"]["id"], second["token"])
    _, anonymous = connect(port, None, None)
    assert wrong is not None and wrong.is_failure
    assert anonymous is not None and anonymous.is_failure


def test_devices_add_prints_the_edge_environment(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["devices", "add", "rosehill", "room7", "--name", "Room 7"])
    assert args.handler(args) == 0
    out = capsys.readouterr().out
    token = next(
        line.split("=", 1)[1]
        for line in out.splitlines()
        if line.strip().startswith("VIGIL_DEVICE_TOKEN=")
    )
    line = next(line.strip() for line in out.splitlines() if line.strip().startswith("room7:$7$"))
    assert verify_password_line(line, token)
    assert "VIGIL_MODEL__PUBLIC_KEY=" in out and "topic write vigil/rosehill/room7/events" in out
    cloud = os.environ["VIGIL_CLOUD_URL"]
    assert f"VIGIL_CLOUD_URL={cloud}" in out and "VIGIL_MQTT__TOPIC_ROOT=vigil" in out
    with httpx.Client() as client:  # the running service knows the printed token
        key = client.get(f"{cloud}/api/v1/models/public-key").text.strip()
        mine = client.get(f"{cloud}/api/v1/models/current", params={"site": "rosehill"},
                          headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert f"VIGIL_MODEL__PUBLIC_KEY={key}" in out and mine.status_code in (200, 404)
    again = parser.parse_args(["devices", "add", "rosehill", "room7"])
    with pytest.raises(RuntimeError, match="409.*registered already"):
        again.handler(again)


def test_devices_add_says_in_one_line_what_is_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from shared.cli import main

    monkeypatch.delenv("VIGIL_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("VIGIL_CLOUD_URL", raising=False)
    assert main(["devices", "add", "rosehill", "room7"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("vigil: error: VIGIL_ADMIN_TOKEN is not set: set it to the admin token of "
                   "the service at http://127.0.0.1:8000")  # fmt: skip
    monkeypatch.setenv("VIGIL_ADMIN_TOKEN", "x" * 32)
    nobody = f"http://127.0.0.1:{free_port()}"
    assert main(["devices", "add", "rosehill", "room7", "--cloud", nobody]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"vigil: error: cannot reach the Vigil service at {nobody}")
    assert "\n" not in err and "Traceback" not in err


def test_devices_add_refuses_a_wrong_admin_token(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from shared.cli import main

    monkeypatch.setenv("VIGIL_ADMIN_TOKEN", "not-the-admin-token-" + "x" * 20)
    assert main(["devices", "add", "rosehill", "room8"]) == 2
    assert "refused VIGIL_ADMIN_TOKEN" in capsys.readouterr().err
