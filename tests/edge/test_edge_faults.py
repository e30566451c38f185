"""Faults: a broker outage, kill -9 and restart, corrupt model updates, no broker at all."""

from __future__ import annotations

import io
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from edge.agent import Agent
from edge.config import load_settings
from edge.outbox import OutboxStore
from shared.loopback import free_port
from shared.messages import ActionEvent, Heartbeat
from shared.topics import device_topic, model_topic
from tests.kit.edge import (
    BackgroundAgent,
    CloudStub,
    LineReader,
    MqttRecorder,
    Signer,
    colour_model,
    colour_video,
    publish,
    spawn_agent,
)
from tests.kit.mosquitto import Mosquitto
from tests.kit.outcomes import wait_for

pytestmark = pytest.mark.services

# Colours change every 1.5 s, so events keep coming during an outage.
CYCLE = [("walking", 1.5), ("sitting_down", 1.5), ("lying_on_floor", 1.5), ("no_person", 1.5)]


def unique_site() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def agent_args(
    video: Path, model: Path, data: Path, site: str, mqtt: str, *extra: str
) -> list[str]:
    return [
        "--source",
        str(video),
        "--model",
        str(model),
        "--mqtt",
        mqtt,
        "--site",
        site,
        "--device-id",
        "dev1",
        "--data-dir",
        str(data),
        "--print",
        *extra,
    ]


FAST_RECONNECT = {"VIGIL_MQTT__RECONNECT_MAX_S": "2", "VIGIL_EVENTS__MIN_START_S": "0.5"}


def by_id(messages: list[Any]) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {}
    for m in messages:
        out.setdefault(ActionEvent.model_validate_json(m.payload).event_id.hex, []).append(
            m.payload
        )
    return out


@pytest.mark.slow
def test_broker_down_for_10_s_mid_run_loses_nothing(tmp_path: Path, model_file: Path) -> None:
    # The broker keeps the *subscriber's* session across its restart (persistence on, a
    # fixed client id), standing in for the cloud's durable ingest; the agent has a clean
    # session, so its in-flight messages die with the broker and only its outbox can
    # bring them back - which is the thing under test.
    broker = Mosquitto(tmp_path, persistence=True).start()
    site = unique_site()
    topic = device_topic(site, "dev1", "events")
    recorder = MqttRecorder(broker.url, [topic], client_id=f"ingest-{site}", clean=False)
    video = colour_video(tmp_path / "cycle.mp4", CYCLE * 4)  # 24 s
    proc = spawn_agent(
        agent_args(video, model_file, tmp_path / "data", site, broker.url, "--realtime"),
        cwd=tmp_path,
        env=FAST_RECONNECT,
    )
    out = LineReader(proc)
    try:
        wait_for(lambda: len(recorder.on(topic)) >= 2, 20, "events before the outage")
        broker.stop()
        down_at, before = time.monotonic(), len(out.events())
        wait_for(lambda: len(out.events()) >= before + 3, 12, "events during the outage")
        time.sleep(max(0.0, 10.0 - (time.monotonic() - down_at)))  # the outage lasts 10 s
        broker.start()
        assert proc.wait(60) == 0
        printed = {e["event_id"].replace("-", "") for e in out.events()}
        wait_for(lambda: printed <= set(by_id(recorder.on(topic))), 20, "every event delivered")
    finally:
        if proc.poll() is None:
            proc.kill()
        recorder.stop()
        broker.stop()
    received = by_id(recorder.on(topic))
    assert set(received) == printed
    # A re-sent event is the same message: duplicates carry identical payloads.
    assert all(len(set(payloads)) == 1 for payloads in received.values())
    seqs = sorted(ActionEvent.model_validate_json(p[0]).seq for p in received.values())
    assert seqs == sorted(set(seqs)) and len(seqs) == len(printed) >= 10
    assert OutboxStore(tmp_path / "data" / "outbox.sqlite").depth() == 0


def test_agent_killed_with_sigkill_delivers_its_outbox_after_restart(
    tmp_path: Path, model_file: Path, mqtt_url: str
) -> None:
    site = unique_site()
    data = tmp_path / "data"
    video = colour_video(tmp_path / "cycle.mp4", CYCLE * 3)
    nowhere = f"mqtt://127.0.0.1:{free_port()}"  # nothing listens: events pile up
    first = spawn_agent(
        agent_args(video, model_file, data, site, nowhere, "--realtime"),
        cwd=tmp_path,
        env=FAST_RECONNECT,
    )
    out = LineReader(first)
    wait_for(lambda: len(out.events()) >= 4, 20, "events queued by the first agent")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    queued = {e["event_id"] for e in out.events()}
    last_seq = max(e["seq"] for e in out.events())

    topic = device_topic(site, "dev1", "events")
    recorder = MqttRecorder(mqtt_url, [topic])
    short = colour_video(tmp_path / "short.mp4", [("walking", 3.0)])
    printer = io.StringIO()
    cfg = load_settings(None, site=site, device_id="dev1", data_dir=data, mqtt={"url": mqtt_url})
    summary = Agent(cfg, str(short), model_file, printer).run(max_seconds=60)
    assert summary.flushed and summary.outbox_depth == 0
    delivered = {
        str(ActionEvent.model_validate_json(m.payload).event_id)
        for m in wait_for(lambda: recorder.on(topic), 10, "any event")
    }
    wait_for(
        lambda: (
            queued
            <= {
                str(ActionEvent.model_validate_json(m.payload).event_id) for m in recorder.on(topic)
            }
        ),
        10,
        "the dead agent's events",
    )
    recorder.stop()
    new = [ActionEvent.model_validate_json(line) for line in printer.getvalue().splitlines()]
    assert new and min(e.seq for e in new) > last_seq  # sequence numbers survive the crash
    assert delivered


@pytest.mark.parametrize("fault", ["bad-sha", "bad-signature", "not-onnx"])
def test_corrupt_model_update_is_refused_and_inference_continues(
    tmp_path: Path,
    model_file: Path,
    mqtt_url: str,
    cloud: CloudStub,
    signer: Signer,
    fault: str,
) -> None:
    site = unique_site()
    good = colour_model("test-2")
    if fault == "bad-sha":
        served, ann = good[:-1] + b"\x00", signer.announce(good, "test-2", "/m.onnx", site=site)
    elif fault == "bad-signature":
        served = good
        ann = signer.announce(good, "test-2", "/m.onnx", site=site, signed=b"someone else")
    else:
        served = b"PK\x03\x04 this is a zip, not a model" * 10
        ann = signer.announce(served, "test-2", "/m.onnx", site=site)
    cloud.files["/m.onnx"] = served
    status = device_topic(site, "dev1", "status")
    recorder = MqttRecorder(mqtt_url, [status])
    video = colour_video(tmp_path / "long.mp4", [("walking", 60.0)])
    cfg = load_settings(
        None,
        site=site,
        device_id="dev1",
        data_dir=tmp_path / "data",
        cloud_url=cloud.url,
        mqtt={"url": mqtt_url},
        capture={"realtime": True},
        heartbeat={"interval_s": 0.3},
        model={"public_key": signer.public_b64},
    )
    agent = Agent(cfg, str(video), model_file)
    try:
        with BackgroundAgent(agent):
            wait_for(lambda: agent.mqtt is not None and agent.mqtt.connected(), 10, "connection")
            publish(mqtt_url, model_topic(site), ann.model_dump_json().encode(), retain=True)
            wait_for(lambda: agent.updater.refused == 1, 20, "the refusal")
            windows = agent.stats.get("windows")
            wait_for(lambda: agent.stats.get("windows") >= windows + 3, 10, "inference going on")
            assert agent.holder.current.version == "test-1"

            def reported() -> bool:
                beats = [Heartbeat.model_validate_json(m.payload) for m in recorder.on(status)]
                return any("test-2" in (b.last_error or "") for b in beats)

            wait_for(reported, 10, "the refusal in the heartbeat")
    finally:
        publish(mqtt_url, model_topic(site), b"", retain=True)
        recorder.stop()


def test_events_fall_back_to_http_when_the_broker_is_unreachable(
    tmp_path: Path, model_file: Path, cloud: CloudStub
) -> None:
    video = colour_video(tmp_path / "v.mp4", [("walking", 2.0), ("sitting_down", 2.0)])
    printer = io.StringIO()
    cloud.fail_next = 2  # the cloud is flaky too: retried with backoff
    cfg = load_settings(
        None,
        site="s1",
        device_id="dev1",
        data_dir=tmp_path / "data",
        cloud_url=cloud.url,
        mqtt={"url": f"mqtt://127.0.0.1:{free_port()}"},
        http={"fallback_after_s": 0.5, "backoff_s": 0.05},
        events={"min_start_s": 0.5},
        capture={"realtime": True},
    )
    agent = Agent(cfg, str(video), model_file, printer)
    summary = agent.run(max_seconds=60)
    assert summary.flushed and summary.outbox_depth == 0
    printed = [ActionEvent.model_validate_json(line) for line in printer.getvalue().splitlines()]
    received = [ActionEvent.model_validate(e) for e in cloud.events()]
    assert len(printed) == 4 and set(received) == set(printed)
    assert agent.sender is not None and agent.sender.delivered["http"] == len(printed)
    assert agent.sender.delivered["mqtt"] == 0


def test_broker_credentials_come_from_the_environment(
    tmp_path: Path, model_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = Mosquitto(tmp_path, users={"cam1": "right-pass", "ingest": "ingest-pass"}).start()
    try:
        site = unique_site()
        topic = device_topic(site, "dev1", "events")
        recorder = MqttRecorder(broker.url, [topic], auth=("ingest", "ingest-pass"))
        video = colour_video(tmp_path / "v.mp4", [("walking", 3.0)])
        over: dict[str, Any] = {
            "site": site,
            "device_id": "dev1",
            "data_dir": tmp_path / "ok",
            "mqtt": {"url": broker.url, "username": "cam1"},
        }
        monkeypatch.setenv("VIGIL_MQTT_PASSWORD", "right-pass")
        summary = Agent(load_settings(None, **over), str(video), model_file).run(60)
        assert summary.flushed and summary.events == 2
        wait_for(lambda: len(recorder.on(topic)) == 2, 5, "the events")
        recorder.stop()

        monkeypatch.setenv("VIGIL_MQTT_PASSWORD", "wrong-pass")
        cfg = load_settings(
            None, **{**over, "data_dir": tmp_path / "bad", "outbox": {"flush_timeout_s": 1}}
        )
        refused = Agent(cfg, str(video), model_file)
        summary = refused.run(60)
        assert not summary.flushed and summary.outbox_depth == 2  # kept for a later run
    finally:
        broker.stop()


def test_a_broker_that_refuses_the_device_is_named_in_its_heartbeat_over_http(
    tmp_path: Path, model_file: Path, cloud: CloudStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = Mosquitto(tmp_path, users={"cam1": "right-pass"}).start()
    try:
        monkeypatch.setenv("VIGIL_MQTT_PASSWORD", "revoked-pass")
        video = colour_video(tmp_path / "v.mp4", [("walking", 3.0)])
        cfg = load_settings(
            None, site="s1", device_id="dev1", data_dir=tmp_path / "data", cloud_url=cloud.url,
            mqtt={"url": broker.url, "username": "cam1", "reconnect_min_s": 1},
            heartbeat={"interval_s": 0.3}, capture={"realtime": True},
        )  # fmt: skip
        Agent(cfg, str(video), model_file).run(max_seconds=60)
    finally:
        broker.stop()
    beats = [
        Heartbeat.model_validate_json(r.body)
        for r in cloud.posted("/api/v1/devices/dev1/heartbeat")
    ]
    said = [b.last_error for b in beats if b.last_error]
    assert said, "no heartbeat said why MQTT is down"
    assert "refused the connection" in said[-1] and "authori" in said[-1].lower()
    assert "revoked-pass" not in said[-1]  # the address prints without the password


def test_without_a_broker_the_agent_says_offline_over_http_when_it_stops(
    tmp_path: Path, model_file: Path, cloud: CloudStub
) -> None:
    video = colour_video(tmp_path / "v.mp4", [("walking", 2.0)])
    cfg = load_settings(
        None, site="s1", device_id="dev1", data_dir=tmp_path / "data", cloud_url=cloud.url
    )
    Agent(cfg, str(video), model_file).run(max_seconds=60)
    beats = [
        Heartbeat.model_validate_json(r.body)
        for r in cloud.posted("/api/v1/devices/dev1/heartbeat")
    ]
    assert beats, "no heartbeat reached the cloud"
    assert beats[-1].status == "offline"
    assert all(b.status == "online" for b in beats[:-1])
