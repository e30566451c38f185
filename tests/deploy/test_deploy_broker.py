"""The shipped Mosquitto config and ACL in a real Mosquitto: who may publish and read
what, and that QoS 1 events are neither dropped under load nor lost across a restart.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.loopback import free_port, port_open
from tests.kit.deploy import (
    CLOUD_USER,
    MOSQUITTO_DIR,
    ROOT,
    Broker,
    Session,
    connect,
    shipped_config,
    start_broker,
)
from tests.kit.mosquitto import add_users, find_tool
from tests.kit.outcomes import missing, wait_for

SITE = "rosehill"
PASSWORDS = {
    CLOUD_USER: secrets.token_urlsafe(24),
    "room1": secrets.token_urlsafe(24),
    "room2": secrets.token_urlsafe(24),
}
INGEST_FILTERS = tuple(f"{ROOT}/+/+/{kind}" for kind in ("events", "status", "ack"))


def topic(device: str, kind: str) -> str:
    return f"{ROOT}/{SITE}/{device}/{kind}"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    running = start_broker(tmp_path_factory.mktemp("broker"), PASSWORDS)
    yield running
    running.stop()


@pytest.fixture
def sessions() -> Iterator[list[Session]]:
    """Sessions a test opens; closed after it whatever happened."""
    opened: list[Session] = []
    yield opened
    for session in opened:
        session.close()


def login(broker: Broker, user: str, opened: list[Session], **kwargs: object) -> Session:
    session = connect(broker.port, user, PASSWORDS[user], **kwargs)  # type: ignore[arg-type]
    opened.append(session)
    assert not session.refused, f"{user} was refused: {session.code}"
    return session


def accepted(port: int, user: str) -> bool:
    session = connect(port, user, PASSWORDS[user])
    if not session.refused:
        session.close()
    return not session.refused


def test_anonymous_and_wrong_passwords_are_refused(broker: Broker) -> None:
    assert connect(broker.port, None, None).refused
    assert connect(broker.port, "room1", PASSWORDS["room2"]).refused
    assert connect(broker.port, "nobody", "whatever").refused


def test_a_device_publishes_on_its_own_topics_only(broker: Broker, sessions: list[Session]) -> None:
    cloud = login(broker, CLOUD_USER, sessions)
    codes = cloud.subscribe(*INGEST_FILTERS)
    assert not any(code.is_failure for code in codes), codes
    device = login(broker, "room1", sessions)
    device.publish(topic("room2", "events"), b"spoofed")  # another device's topic
    device.publish(f"{ROOT}/othersite/room2/events", b"spoofed")
    for kind in ("events", "status", "ack"):
        device.publish(topic("room1", kind), kind.encode())
    wait_for(lambda: len(cloud.received) >= 3, 10, "the device's own messages")
    assert sorted(cloud.topics()) == sorted(topic("room1", k) for k in ("events", "status", "ack"))


def test_a_device_reads_its_commands_and_the_model_but_nobody_elses(
    broker: Broker, sessions: list[Session]
) -> None:
    device = login(broker, "room1", sessions)
    device.subscribe(topic("room1", "cmd"), topic("room2", "cmd"), f"{ROOT}/{SITE}/model")
    other = login(broker, "room2", sessions)
    cloud = login(broker, CLOUD_USER, sessions)
    other.publish(f"{ROOT}/{SITE}/model", b"forged announcement")  # devices never announce
    other.publish(topic("room1", "cmd"), b"forged command")
    cloud.publish(topic("room2", "cmd"), b"for room2")
    cloud.publish(topic("room1", "cmd"), b"for room1")
    cloud.publish(f"{ROOT}/{SITE}/model", b"announcement", retain=True)
    wait_for(lambda: len(device.received) >= 2, 10, "room1's command and the model")
    payloads = sorted(m.payload for m in list(device.received))
    assert payloads == [b"announcement", b"for room1"]
    cloud.publish(f"{ROOT}/{SITE}/model", b"", retain=True)  # clear the retained message


def test_a_device_cannot_listen_in_through_wildcards(
    broker: Broker, sessions: list[Session]
) -> None:
    """A subscription is granted, but the broker delivers only what the ACL lets it read."""
    snoop = login(broker, "room2", sessions)
    snoop.subscribe("#", f"{ROOT}/#", f"{ROOT}/+/+/events", f"{ROOT}/+/+/cmd", "$SYS/#")
    device = login(broker, "room1", sessions)
    cloud = login(broker, CLOUD_USER, sessions)
    device.publish(topic("room1", "events"), b"room1 event")
    device.publish(topic("room1", "status"), b"room1 status")
    cloud.publish(topic("room1", "cmd"), b"room1 command")
    cloud.publish(topic("room2", "cmd"), b"sentinel")  # the snoop's own: it does arrive
    wait_for(lambda: b"sentinel" in [m.payload for m in list(snoop.received)], 10, "sentinel")
    assert {m.topic for m in list(snoop.received)} == {topic("room2", "cmd")}


def test_the_cloud_cannot_publish_as_a_device(broker: Broker, sessions: list[Session]) -> None:
    watcher = login(broker, CLOUD_USER, sessions)
    watcher.subscribe(*INGEST_FILTERS)
    writer = login(broker, CLOUD_USER, sessions)
    writer.publish(topic("room1", "events"), b"forged by the cloud user")
    device = login(broker, "room1", sessions)
    device.publish(topic("room1", "events"), b"sentinel")
    wait_for(lambda: watcher.received, 10, "the sentinel")
    assert [m.payload for m in watcher.received] == [b"sentinel"]


def test_ingest_replicas_share_a_subscription(broker: Broker, sessions: list[Session]) -> None:
    """`vigil ingest --share-group`: the ACL grants `$share/...` filters like plain ones."""
    replicas = [login(broker, CLOUD_USER, sessions) for _ in range(2)]
    for replica in replicas:
        codes = replica.subscribe(*(f"$share/ingest/{f}" for f in INGEST_FILTERS))
        assert not any(code.is_failure for code in codes), codes
    device = login(broker, "room1", sessions)
    for n in range(20):
        device.publish(topic("room1", "events"), str(n).encode())
    wait_for(lambda: sum(len(r.received) for r in replicas) >= 20, 10, "20 shared messages")
    assert sorted(int(m.payload) for r in replicas for m in r.received) == list(range(20))


@pytest.mark.slow
def test_ten_thousand_qos1_events_arrive_complete_at_a_slow_subscriber(
    broker: Broker, sessions: list[Session]
) -> None:
    """Mosquitto's defaults (1000 queued, 20 in flight) drop most of these; the shipped
    limits must not drop one. The subscriber stalls at first, so the queue really builds up.
    """
    total = 10_000
    cloud = login(broker, CLOUD_USER, sessions, client_id="ingest-load", clean_session=True)
    seen: set[bytes] = set()
    stall = {"left": 2_000}

    def on_message(_c, _u, message) -> None:
        if stall["left"] > 0:  # ~2 s of a slow database at first
            stall["left"] -= 1
            time.sleep(0.001)
        seen.add(bytes(message.payload))

    cloud.client.on_message = on_message
    cloud.subscribe(topic("room1", "events"))
    device = login(broker, "room1", sessions, inflight=200)
    events = topic("room1", "events")
    infos = [device.client.publish(events, b"e%05d" % n, qos=1) for n in range(total)]
    for info in infos:
        info.wait_for_publish(30)
    wait_for(lambda: len(seen) >= total, 60, f"{total} unique events", interval=0.2)
    assert seen == {b"e%05d" % n for n in range(total)}


def test_a_persistent_session_gets_its_queue_back_after_a_broker_restart(
    broker: Broker, sessions: list[Session]
) -> None:
    """Persistence on: events queued for the offline cloud ingest survive a restart."""
    client_id = f"ingest-{secrets.token_hex(4)}"
    ingest = connect(broker.port, CLOUD_USER, PASSWORDS[CLOUD_USER], client_id, False)
    assert not ingest.refused
    ingest.subscribe(topic("room2", "events"))
    ingest.close()
    device = login(broker, "room2", sessions)
    for n in range(100):
        device.publish(topic("room2", "events"), b"q%03d" % n)
    device.close()
    sessions.remove(device)
    broker.restart()
    back = connect(broker.port, CLOUD_USER, PASSWORDS[CLOUD_USER], client_id, False)
    sessions.append(back)
    assert not back.refused
    wait_for(lambda: len(back.received) >= 100, 10, "the queued events after the restart")
    assert {m.payload for m in back.received} == {b"q%03d" % n for n in range(100)}


def test_the_entrypoint_builds_credentials_and_reloads_new_devices(tmp_path: Path) -> None:
    """deploy/mosquitto/entrypoint.sh as the container runs it (root: it chowns files)."""
    if os.geteuid() != 0:
        pytest.skip("the broker entrypoint chowns its files as in the container: run as root")
    mosquitto, sh = find_tool("mosquitto"), shutil.which("sh")
    if mosquitto is None or sh is None:
        missing("mosquitto is not installed (apt-get install mosquitto)")
    port = free_port()
    (tmp_path / "config").mkdir()
    conf = shipped_config(port, tmp_path)  # password_file and acl_file under tmp/auth
    (tmp_path / "config" / "mosquitto.conf").write_text(conf)
    shutil.copy(MOSQUITTO_DIR / "acl", tmp_path / "config" / "acl")
    env = {
        "PATH": f"{Path(str(mosquitto)).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "VIGIL_MOSQUITTO_BASE": str(tmp_path),
        "VIGIL_MOSQUITTO_USER": "root",
        "VIGIL_MQTT_CLOUD_PASSWORD": PASSWORDS[CLOUD_USER],
    }
    entry = subprocess.Popen([str(sh), str(MOSQUITTO_DIR / "entrypoint.sh")], env=env)
    try:
        wait_for(lambda: port_open(port) or entry.poll() is not None, 10, "the entrypoint")
        assert entry.poll() is None, "the entrypoint exited"
        assert oct((tmp_path / "auth" / "passwd").stat().st_mode & 0o777) == "0o600"
        assert accepted(port, CLOUD_USER)
        assert not accepted(port, "room1")
        add_users(tmp_path / "devices" / "passwd", {"room1": PASSWORDS["room1"]})
        wait_for(
            lambda: accepted(port, "room1"),
            15,
            "the new device to be accepted after the reload",
            interval=0.5,
        )
        entry.send_signal(signal.SIGTERM)
        assert entry.wait(timeout=15) == 0
    finally:
        if entry.poll() is None:
            entry.kill()
            entry.wait(timeout=5)
