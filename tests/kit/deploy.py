"""The deploy tests' harness: the shipped Mosquitto config on a free port, MQTT clients.

The broker runs the files in deploy/mosquitto/ as shipped; only its paths (password file,
ACL, persistence) and its port are rewritten to the test's own, so that the limits,
the authentication and the ACL under test are the ones a deployment gets.
"""

from __future__ import annotations

import secrets
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.kit.mosquitto import MosquittoProcess, add_users, stay_root

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
MOSQUITTO_DIR = DEPLOY / "mosquitto"
CLOUD_USER = "vigil.cloud"
ROOT = "vigil"


def shipped_config(port: int, base: Path) -> str:
    """deploy/mosquitto/mosquitto.conf with its paths under `base` and its port `port`."""
    replaced = {
        "listener": f"listener {port} 127.0.0.1",
        "password_file": f"password_file {base / 'auth' / 'passwd'}",
        "acl_file": f"acl_file {base / 'auth' / 'acl'}",
        "persistence_location": f"persistence_location {base / 'data'}/",
    }
    seen: set[str] = set()
    lines = []
    for line in (MOSQUITTO_DIR / "mosquitto.conf").read_text().splitlines():
        key = line.split(" ", 1)[0]
        if key in replaced:
            assert key not in seen, f"the shipped config sets {key} twice"
            seen.add(key)
            line = replaced[key]
        lines.append(line)
    assert seen == set(replaced), f"the shipped config lacks {set(replaced) - seen}"
    return "\n".join([*stay_root(), *lines]) + "\n"


class Broker(MosquittoProcess):
    """A Mosquitto on the shipped config; `restart()` keeps its data directory."""

    @property
    def base(self) -> Path:
        return self.workdir

    @property
    def passwd(self) -> Path:
        return self.base / "auth" / "passwd"

    def config(self) -> str:
        return shipped_config(self.port, self.base)


def start_broker(base: Path, users: dict[str, str]) -> Broker:
    """The shipped config and ACL, and a password file holding `users`."""
    (base / "auth").mkdir(parents=True, exist_ok=True)
    (base / "data").mkdir(exist_ok=True)
    shutil.copy(MOSQUITTO_DIR / "acl", base / "auth" / "acl")
    add_users(base / "auth" / "passwd", users)
    return Broker(base).start()


@dataclass
class Session:
    """A connected paho client and what it received."""

    client: mqtt.Client
    code: mqtt.ReasonCode | None
    received: list[mqtt.MQTTMessage] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return self.code is None or self.code.is_failure

    def subscribe(self, *topics: str) -> list[mqtt.ReasonCode]:
        """Subscribe at QoS 1 and wait for the SUBACK; returns its reason codes."""
        acked = threading.Event()
        codes: list[mqtt.ReasonCode] = []

        def on_subscribe(client, userdata, mid, reason_codes, properties) -> None:
            codes.extend(reason_codes)
            acked.set()

        self.client.on_subscribe = on_subscribe
        self.client.subscribe([(topic, 1) for topic in topics])
        assert acked.wait(10), f"no SUBACK for {topics}"
        return codes

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def topics(self) -> list[str]:
        return [m.topic for m in list(self.received)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def connect(
    port: int,
    username: str | None,
    password: str | None,
    client_id: str | None = None,
    clean_session: bool = True,
    inflight: int = 20,
) -> Session:
    """Connect (network loop running) and wait for the CONNACK, accepted or not."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id or f"deploy-test-{secrets.token_hex(4)}",
        clean_session=clean_session,
    )
    client.max_inflight_messages_set(inflight)  # paho: only before connecting
    if username is not None:
        client.username_pw_set(username, password)
    session = Session(client, None)
    done = threading.Event()

    def on_connect(c, u, flags, reason_code, properties) -> None:
        session.code = reason_code
        done.set()

    client.on_connect = on_connect
    client.on_message = lambda _c, _u, message: session.received.append(message)
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    done.wait(10)
    if session.refused:
        client.loop_stop()
    return session


def always_model(label: str, labels: tuple[str, ...], version: str) -> bytes:
    """A real ONNX student that is sure of `label` whatever it sees (onnx, dev extra)."""
    import numpy as np
    from onnx import TensorProto, helper

    from shared.preprocess import InputSpec
    from tests.kit.edge import student_bytes

    spec = InputSpec(frames=4, height=16, width=16, clip_seconds=1.0)
    logits = np.where(np.array(labels) == label, 10.0, 0.0).astype(np.float32)[None, :]
    graph = helper.make_graph(
        [
            # batch x 1 zeros from the input, plus the constant logits: batch x K.
            helper.make_node("ReduceMean", ["frames"], ["mean"], axes=[1, 2, 3, 4], keepdims=0),
            helper.make_node("Unsqueeze", ["mean", "axis"], ["column"]),
            helper.make_node("Mul", ["column", "zero"], ["zeros"]),
            helper.make_node("Add", ["zeros", "logits_const"], ["logits"]),
        ],
        "always_student",
        [helper.make_tensor_value_info("frames", TensorProto.FLOAT, ["batch", 3, 4, 16, 16])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", len(labels)])],
        initializer=[
            helper.make_tensor("axis", TensorProto.INT64, [1], [1]),
            helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
            helper.make_tensor("logits_const", TensorProto.FLOAT, logits.shape, logits.ravel()),
        ],
    )
    return student_bytes(graph, labels, version, spec)
