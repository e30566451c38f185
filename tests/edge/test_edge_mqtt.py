"""The agent against the real Mosquitto: topics, QoS 1, retained status, last will, commands."""

from __future__ import annotations

import io
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest

from edge.agent import Agent
from edge.config import EdgeSettings, load_settings
from shared.messages import (
    ActionEvent,
    Command,
    CommandAck,
    CommandKind,
    DeviceState,
    Heartbeat,
    Thresholds,
    utc_now,
)
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
from tests.kit.outcomes import wait_for

pytestmark = pytest.mark.services


def unique_site() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def settings(tmp_path: Path, mqtt_url: str, site: str, **over: Any) -> EdgeSettings:
    base: dict[str, Any] = {
        "site": site,
        "device_id": "dev1",
        "data_dir": tmp_path / "data",
        "mqtt": {"url": mqtt_url, "reconnect_max_s": 2},
    }
    return load_settings(None, **{**base, **over})


def test_events_arrive_on_the_device_topic_with_qos1_and_status_is_retained(
    tmp_path: Path, model_file: Path, mqtt_url: str
) -> None:
    site = unique_site()
    recorder = MqttRecorder(mqtt_url, [f"vigil/{site}/#"])
    video = colour_video(
        tmp_path / "v.mp4", [("walking", 3.0), ("falling", 1.0), ("sitting_down", 3.0)]
    )
    out = io.StringIO()
    agent = Agent(settings(tmp_path, mqtt_url, site), str(video), model_file, out)
    summary = agent.run(max_seconds=60)
    printed = [ActionEvent.model_validate_json(line) for line in out.getvalue().splitlines()]
    assert summary.flushed and summary.outbox_depth == 0 and len(printed) >= 4

    topic = device_topic(site, "dev1", "events")
    wait_for(lambda: len(recorder.on(topic)) >= len(printed), 10, "every event on MQTT")
    received = recorder.on(topic)
    assert all(m.qos == 1 and not m.retain for m in received)
    assert {ActionEvent.model_validate_json(m.payload) for m in received} == set(printed)
    # Down for a second, then sitting: a possible fall that recovered, and no alarm.
    falls = [e for e in printed if e.action == "falling"]
    assert [(e.type.value, e.stage and e.stage.value, e.severity.value) for e in falls] == [
        ("start", "possible", "warning"),
        ("end", "recovered", "warning"),
    ]

    status = device_topic(site, "dev1", "status")
    states = [Heartbeat.model_validate_json(m.payload).status for m in recorder.on(status)]
    assert states[0] is DeviceState.ONLINE and states[-1] is DeviceState.OFFLINE  # clean exit
    recorder.stop()
    late = MqttRecorder(mqtt_url, [status])  # a subscriber that comes later gets the retained one
    (kept,) = wait_for(lambda: late.on(status), 5, "the retained status")
    assert kept.retain and Heartbeat.model_validate_json(kept.payload).status is DeviceState.OFFLINE
    late.stop()


def test_status_turns_offline_through_the_last_will_when_the_agent_is_killed(
    tmp_path: Path, model_file: Path, mqtt_url: str
) -> None:
    site = unique_site()
    status = device_topic(site, "dev1", "status")
    video = colour_video(tmp_path / "long.mp4", [("walking", 60.0)])
    proc = spawn_agent(
        [
            "--source",
            str(video),
            "--model",
            str(model_file),
            "--realtime",
            "--mqtt",
            mqtt_url,
            "--site",
            site,
            "--device-id",
            "dev1",
            "--data-dir",
            str(tmp_path / "data"),
        ],
        cwd=tmp_path,
    )
    try:
        watcher = MqttRecorder(mqtt_url, [status])
        first = wait_for(lambda: watcher.on(status), 20, "the agent's online status")[0]
        assert Heartbeat.model_validate_json(first.payload).status is DeviceState.ONLINE
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        wait_for(
            lambda: (
                Heartbeat.model_validate_json(watcher.on(status)[-1].payload).status
                is DeviceState.OFFLINE
            ),
            10,
            "the last will",
        )
        watcher.stop()
        late = MqttRecorder(mqtt_url, [status])
        (kept,) = wait_for(lambda: late.on(status), 5, "the retained status")
        assert kept.retain
        assert Heartbeat.model_validate_json(kept.payload).status is DeviceState.OFFLINE
        late.stop()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def command(site: str, kind: CommandKind, **fields: Any) -> Command:
    return Command(
        command_id=uuid.uuid4(),
        device_id="dev1",
        site=site,
        kind=kind,
        issued_at=utc_now(),
        **fields,
    )


def test_commands_and_model_announcements_are_carried_out_and_acked(
    tmp_path: Path, model_file: Path, mqtt_url: str, cloud: CloudStub, signer: Signer
) -> None:
    site = unique_site()
    acks_topic = device_topic(site, "dev1", "ack")
    cmd_topic = device_topic(site, "dev1", "cmd")
    recorder = MqttRecorder(mqtt_url, [acks_topic])
    video = colour_video(tmp_path / "long.mp4", [("walking", 60.0)])
    cfg = settings(
        tmp_path,
        mqtt_url,
        site,
        cloud_url=cloud.url,
        capture={"realtime": True},
        model={"public_key": signer.public_pem},
    )
    agent = Agent(cfg, str(video), model_file)

    def ack_for(cmd: Command) -> CommandAck:
        def find() -> CommandAck | None:
            for m in recorder.on(acks_topic):
                ack = CommandAck.model_validate_json(m.payload)
                if ack.command_id == cmd.command_id:
                    return ack
            return None

        return wait_for(find, 20, f"the ack of {cmd.kind.value}")

    with BackgroundAgent(agent):
        wait_for(lambda: agent.mqtt is not None and agent.mqtt.connected(), 10, "connection")
        new = Thresholds(enter=0.8, exit=0.3, fall_enter=0.6)
        cmd = command(site, CommandKind.SET_THRESHOLDS, thresholds=new)
        publish(mqtt_url, cmd_topic, cmd.model_dump_json().encode())
        assert ack_for(cmd).ok and agent.thresholds.get() == new

        missing = command(site, CommandKind.SWITCH_MODEL, model_version="nope")
        publish(mqtt_url, cmd_topic, missing.model_dump_json().encode())
        refused = ack_for(missing)
        assert not refused.ok and "not available" in refused.detail

        artifact = colour_model("test-2")
        cloud.files["/models/test-2.onnx"] = artifact
        ann = signer.announce(artifact, "test-2", "/models/test-2.onnx", site=site)
        publish(mqtt_url, model_topic(site), ann.model_dump_json().encode(), retain=True)
        wait_for(lambda: agent.holder.current.version == "test-2", 20, "the new model")

        back = command(site, CommandKind.SWITCH_MODEL, model_version="test-1")
        publish(mqtt_url, cmd_topic, back.model_dump_json().encode())
        assert ack_for(back).ok and agent.holder.current.version == "test-1"
        windows = agent.stats.get("windows")
        wait_for(lambda: agent.stats.get("windows") > windows + 2, 10, "inference going on")
    publish(mqtt_url, model_topic(site), b"", retain=True)  # clear the retained announcement
    recorder.stop()


def test_sigterm_ends_open_events_flushes_and_says_offline(
    tmp_path: Path, model_file: Path, mqtt_url: str
) -> None:
    site = unique_site()
    events, status = device_topic(site, "dev1", "events"), device_topic(site, "dev1", "status")
    recorder = MqttRecorder(mqtt_url, [events, status])
    video = colour_video(tmp_path / "long.mp4", [("walking", 60.0)])
    args = [
        "--source",
        str(video),
        "--model",
        str(model_file),
        "--realtime",
        "--print",
        "--mqtt",
        mqtt_url,
        "--site",
        site,
        "--device-id",
        "dev1",
        "--data-dir",
        str(tmp_path / "data"),
    ]
    proc = spawn_agent(args, cwd=tmp_path)
    out = LineReader(proc)
    try:
        wait_for(lambda: out.events(), 20, "the first event")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert [(e["type"], e["action"]) for e in out.events()] == [
        ("start", "walking"),
        ("end", "walking"),
    ]
    wait_for(lambda: len(recorder.on(events)) == 2, 5, "both events on MQTT")
    last = Heartbeat.model_validate_json(recorder.on(status)[-1].payload)
    assert last.status is DeviceState.OFFLINE
    recorder.stop()
