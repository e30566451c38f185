"""Real things for edge tests: a tiny ONNX model steered by colour, colour videos,
a recording cloud stub over real HTTP, an MQTT recorder (a private broker: tests.kit.mosquitto).

The model: input (N, 3, T, H, W) -> ReduceMean over T, H, W -> MatMul/Add -> logits.
Its logits are a scaled negative squared distance between the window's mean colour
(after the shared normalisation) and one prototype colour per label, which is linear
in the mean: logit_k = s * (2 x.p_k - |p_k|^2). So a video of one label's colour is
classified as that label, and a colour halfway between two prototypes is a near tie.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import onnx
import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from onnx import TensorProto, helper

from shared.labels import LabelSet
from shared.messages import ModelAnnouncement, utc_now
from shared.modelmeta import ModelMetadata
from shared.preprocess import InputSpec
from shared.video import write_video
from tests.kit.outcomes import wait_for

REPO = Path(__file__).resolve().parents[2]
LABELS = ("walking", "sitting_down", "falling", "lying_on_floor", "no_person")
# RGB prototype colour per label; white for no_person keeps it far from every midpoint.
COLOURS_RGB: dict[str, tuple[int, int, int]] = {
    "walking": (0, 200, 0),
    "sitting_down": (0, 0, 200),
    "falling": (200, 0, 0),
    "lying_on_floor": (200, 200, 0),
    "no_person": (255, 255, 255),
    "bending": (200, 0, 200),
}
UNSURE_RGB = (0, 100, 100)  # halfway between walking and sitting_down
SPEC = InputSpec(frames=4, height=16, width=16, clip_seconds=1.0)
SHARPNESS = 0.3


def normalised(rgb: tuple[int, int, int], spec: InputSpec = SPEC) -> np.ndarray:
    return (np.asarray(rgb, np.float64) / 255.0 - np.asarray(spec.mean)) / np.asarray(spec.std)


def colour_model(
    version: str = "test-1", labels: tuple[str, ...] = LABELS, spec: InputSpec = SPEC
) -> bytes:
    """A real ONNX student whose prediction is the label of the nearest prototype colour."""
    protos = np.stack([normalised(COLOURS_RGB[name], spec) for name in labels])  # K x 3
    weight = (2 * SHARPNESS * protos.T).astype(np.float32)  # 3 x K
    bias = (-SHARPNESS * np.sum(protos**2, axis=1)).astype(np.float32)
    shape = ["batch", 3, spec.frames, spec.height, spec.width]
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["frames"], ["mean"], axes=[2, 3, 4], keepdims=0),
            helper.make_node("MatMul", ["mean", "W"], ["scores"]),
            helper.make_node("Add", ["scores", "b"], ["logits"]),
        ],
        "colour_student",
        [helper.make_tensor_value_info("frames", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", len(labels)])],
        initializer=[
            helper.make_tensor("W", TensorProto.FLOAT, weight.shape, weight.ravel().tolist()),
            helper.make_tensor("b", TensorProto.FLOAT, bias.shape, bias.ravel().tolist()),
        ],
    )
    return student_bytes(graph, labels, version, spec)


def student_bytes(
    graph: onnx.GraphProto, labels: tuple[str, ...], version: str, spec: InputSpec
) -> bytes:
    """`graph` as a checked ONNX model that carries the metadata the edge reads."""
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    meta = ModelMetadata.for_labels(LabelSet.from_names(labels), model_version=version, input=spec)
    helper.set_model_props(model, meta.to_properties())
    onnx.checker.check_model(model)
    return model.SerializeToString()


def bgr(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return (rgb[2], rgb[1], rgb[0])


def colour_video(
    path: Path,
    segments: list[tuple[str | tuple[int, int, int], float]],
    fps: float = 10.0,
    size: tuple[int, int] = (48, 64),
) -> Path:
    """Write an mp4v video: each segment is (label or RGB colour, seconds) of plain frames."""
    frames = []
    for what, seconds in segments:
        rgb = COLOURS_RGB[what] if isinstance(what, str) else what
        frame = np.empty((size[0], size[1], 3), np.uint8)
        frame[:] = bgr(rgb)
        frames += [frame] * round(seconds * fps)
    return write_video(path, frames, fps)


# -- signing ------------------------------------------------------------------------


@dataclass
class Signer:
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def public_pem(self) -> str:
        return (
            self.key.public_key()
            .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    @property
    def public_b64(self) -> str:
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    def announce(
        self,
        data: bytes,
        version: str,
        url: str,
        site: str = "site1",
        labels: tuple[str, ...] = LABELS,
        signed: bytes | None = None,
    ) -> ModelAnnouncement:
        """An announcement for `data`; `signed` lets a test sign other bytes (a forgery)."""
        return ModelAnnouncement(
            site=site,
            version=version,
            url=url,
            sha256=hashlib.sha256(data).hexdigest(),
            signature=base64.b64encode(
                self.key.sign(signed if signed is not None else data)
            ).decode(),
            size_bytes=len(data),
            labels=list(labels),
            announced_at=utc_now(),
        )


# -- a recording cloud over real HTTP --------------------------------------------------


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class CloudStub:
    """A real HTTP server on 127.0.0.1 that speaks the edge's side of the cloud contract."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.files: dict[str, bytes] = {}
        self.current: ModelAnnouncement | None = None
        self.fail_next = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> CloudStub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                stub._serve(self, b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                stub._serve(self, self.rfile.read(length))

        return Handler

    def _serve(self, h: BaseHTTPRequestHandler, body: bytes) -> None:
        with self.lock:
            self.requests.append(Recorded(h.command, h.path, dict(h.headers.items()), body))
            failing = self.fail_next > 0
            self.fail_next -= 1 if failing else 0
        status, payload = (503, b"busy") if failing else self._route(h.command, h.path)
        h.send_response(status)
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)

    def _route(self, method: str, target: str) -> tuple[int, bytes]:
        path = urlsplit(target).path
        if method == "POST" and path.startswith("/api/v1/"):
            return 200, b"{}"
        if method == "GET" and path == "/api/v1/models/current":
            site = parse_qs(urlsplit(target).query).get("site", [""])[0]
            if self.current is None or self.current.site != site:
                return 404, b"{}"
            return 200, self.current.model_dump_json().encode()
        if method == "GET" and path in self.files:
            return 200, self.files[path]
        return 404, b"not found"

    def posted(self, path_prefix: str) -> list[Recorded]:
        with self.lock:
            return [
                r for r in self.requests if r.method == "POST" and r.path.startswith(path_prefix)
            ]

    def events(self) -> list[dict[str, Any]]:
        return [e for r in self.posted("/api/v1/events") for e in json.loads(r.body)["events"]]

    def clips(self) -> list[tuple[dict[str, Any], bytes]]:
        """(meta, video bytes) of every clip upload, parsed from the multipart body."""
        out = []
        for r in self.posted("/api/v1/clips"):
            head = f"Content-Type: {r.headers['Content-Type']}\r\n\r\n".encode()
            message = BytesParser(policy=email_policy).parsebytes(head + r.body)
            parts = {
                p.get_param("name", header="content-disposition"): p for p in message.iter_parts()
            }
            meta = json.loads(parts["meta"].get_content())
            out.append((meta, parts["video"].get_payload(decode=True)))
        return out


# -- MQTT recording -----------------------------------------------------------------


@dataclass
class Received:
    topic: str
    payload: bytes
    qos: int
    retain: bool

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.payload))


class MqttRecorder:
    """A real subscriber that records every message on `topics` (re-subscribing on reconnect)."""

    def __init__(
        self,
        url: str,
        topics: list[str],
        client_id: str | None = None,
        clean: bool = True,
        auth: tuple[str, str] | None = None,
    ) -> None:
        host, port = url.split("://", 1)[1].split(":")
        self.messages: list[Received] = []
        self.lock = threading.Lock()
        self.topics = topics
        self.subscribed = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or "", clean_session=clean
        )
        if auth is not None:
            self.client.username_pw_set(*auth)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.reconnect_delay_set(1, 1)
        self.client.connect_async(host, int(port), keepalive=10)
        self.client.loop_start()
        wait_for(self.subscribed.is_set, 10, f"subscription to {topics}")

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        client.subscribe([(t, 1) for t in self.topics])

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append(Received(msg.topic, bytes(msg.payload), msg.qos, bool(msg.retain)))

    def on(self, topic: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if m.topic == topic]

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish(url: str, topic: str, payload: bytes, retain: bool = False) -> None:
    """Publish one QoS 1 message and wait for its PUBACK."""
    host, port = url.split("://", 1)[1].split(":")
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect(host, int(port))
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


# -- the agent as a real process --------------------------------------------------------


def agent_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "shared", "edge", "run", *args]


def spawn_agent(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.Popen(
        agent_command(*args),
        cwd=cwd,
        env=full_env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


class LineReader:
    """Collect a process's stdout lines in a thread (so the pipe never fills up)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self.thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self.lock:
                self.lines.append(line)

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(line) for line in self.lines if line.startswith("{")]


class BackgroundAgent:
    """Run an in-process `Agent` in a thread; leaving the block ends it gracefully."""

    def __init__(self, agent: Any, max_seconds: float | None = 120) -> None:
        self.agent = agent
        self.summary: Any = None
        self.thread = threading.Thread(target=self._run, args=(max_seconds,), daemon=True)

    def _run(self, max_seconds: float | None) -> None:
        self.summary = self.agent.run(max_seconds=max_seconds)

    def __enter__(self) -> Any:
        self.thread.start()
        return self.agent

    def __exit__(self, *exc: object) -> None:
        self.agent.finish()
        self.thread.join(60)
        assert not self.thread.is_alive(), "the agent did not stop"
