"""A broker password given inside an MQTT URL logs in, and never reaches a log line: the
agent and the service each run against a Mosquitto that checks passwords, with the
password only in the URL, and every log record they wrote is searched for it."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from urllib.parse import quote

import pytest

from edge.agent import Agent
from edge.config import load_settings
from shared.topics import device_topic
from tests.kit.edge import MqttRecorder, colour_model, colour_video
from tests.kit.factories import random_id
from tests.kit.mosquitto import Mosquitto
from tests.kit.outcomes import wait_for
from tests.kit.security import running_service

pytestmark = [pytest.mark.services, pytest.mark.slow]


def a_password() -> str:
    """One that must be percent-encoded in a URL: `@`, `:` and `/` in it."""
    return f"p@ss:w/rd-{secrets.token_urlsafe(12)}"


def test_the_agent_logs_in_with_the_urls_password_and_never_logs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    password = a_password()
    broker = Mosquitto(tmp_path, users={"cam1": password, "watcher": "watcher-pass"}).start()
    try:
        site = random_id("site")
        topic = device_topic(site, "cam1", "events")
        recorder = MqttRecorder(broker.url, [topic], auth=("watcher", "watcher-pass"))
        url = f"mqtt://cam1:{quote(password, safe='')}@127.0.0.1:{broker.port}"
        monkeypatch.setenv("VIGIL_MQTT__URL", url)
        model = tmp_path / "student.onnx"
        model.write_bytes(colour_model("test-1"))
        video = colour_video(tmp_path / "v.mp4", [("walking", 3.0)])
        settings = load_settings(None, site=site, device_id="cam1", data_dir=tmp_path / "data")
        with caplog.at_level(logging.DEBUG):
            summary = Agent(settings, str(video), model).run(60)
        assert summary.flushed and summary.events == 2  # the broker took the URL's password
        wait_for(lambda: len(recorder.on(topic)) == 2, 5, "the events")
        recorder.stop()
    finally:
        broker.stop()
    assert f"connected to mqtt://cam1:***@127.0.0.1:{broker.port}" in caplog.text
    assert_never_logged(caplog, password)


def test_the_service_logs_in_with_the_urls_password_and_never_logs_it(
    tmp_path: Path, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    password = a_password()
    broker = Mosquitto(tmp_path, users={"vigil-cloud": password}).start()
    url = f"mqtt://vigil-cloud:{quote(password, safe='')}@127.0.0.1:{broker.port}"
    shown = f"mqtt://vigil-cloud:***@127.0.0.1:{broker.port}"
    try:
        with caplog.at_level(logging.DEBUG):
            # It starts only once its ingest has subscribed: the broker took the password.
            with running_service(postgres_url, url, tmp_path / "data") as server:
                wait_for(lambda: server.services.publisher.connected, 10, "the publisher")
    finally:
        broker.stop()
    assert f"MQTT publisher for {shown}" in caplog.text
    assert f"MQTT ingest from {shown}" in caplog.text
    assert_never_logged(caplog, password)


def assert_never_logged(caplog: pytest.LogCaptureFixture, password: str) -> None:
    """Neither the password nor its URL form in any record, its arguments included."""
    forms = {password, quote(password, safe="")}
    texts = [caplog.text] + [repr(r.args) + r.getMessage() for r in caplog.records]
    leaks = [form for form in forms for text in texts if form in text]
    assert caplog.records and not leaks, leaks
