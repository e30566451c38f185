"""Malformed models offered to the edge updater over real HTTP, beyond what
tests/edge/test_edge_updater.py covers (truncated, forged, zeros, version and label
mismatch): the wrong input shape, missing or broken metadata, a signature that is not
one. Each is refused, reported, not cached, and the running model keeps running."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from edge.backend import ModelHolder, OnnxBackend
from edge.config import HttpConfig
from edge.stats import AgentStats
from edge.transport.http import CloudClient
from edge.updater import ModelCache, ModelUpdater, load_public_key
from shared.modelmeta import METADATA_KEY
from shared.preprocess import InputSpec
from tests.kit.edge import LABELS, SPEC, CloudStub, Signer, colour_model

VERSION = "test-2"


def with_props(model: bytes, edit: Callable[[dict[str, str]], dict[str, str]]) -> bytes:
    """The model with its metadata properties replaced by `edit(properties)`."""
    proto = onnx.load_from_string(model)
    props = {p.key: p.value for p in proto.metadata_props}
    del proto.metadata_props[:]
    helper.set_model_props(proto, edit(props))
    return proto.SerializeToString()


def image_model() -> bytes:
    """A well-formed ONNX model for single images (N, 3, H, W), with Vigil's metadata."""
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["frames"], ["logits"], axes=[2, 3], keepdims=0)],
        "image_model",
        [helper.make_tensor_value_info("frames", TensorProto.FLOAT, ["batch", 3, 16, 16])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, props_of_good())
    return model.SerializeToString()


def props_of_good() -> dict[str, str]:
    return {p.key: p.value for p in onnx.load_from_string(colour_model(VERSION)).metadata_props}


def metadata_says(**changes: object) -> Callable[[dict[str, str]], dict[str, str]]:
    def edit(props: dict[str, str]) -> dict[str, str]:
        meta = json.loads(props[METADATA_KEY])
        return {METADATA_KEY: json.dumps({**meta, **changes})}

    return edit


BAD_MODELS: dict[str, tuple[Callable[[], bytes], str]] = {
    "image-input": (image_model, "input must be (N, 3, T, H, W)"),
    "larger-window-than-its-metadata": (
        lambda: with_props(
            colour_model(VERSION, spec=InputSpec(frames=8, height=32, width=32, clip_seconds=1.0)),
            metadata_says(input=SPEC.model_dump(mode="json")),
        ),
        "warm-up inference failed",
    ),
    "no-metadata": (lambda: with_props(colour_model(VERSION), lambda _: {}), "no 'vigil"),
    "metadata-not-json": (
        lambda: with_props(colour_model(VERSION), lambda _: {METADATA_KEY: "{labels:"}),
        "metadata is invalid",
    ),
    "metadata-without-labels": (
        lambda: with_props(
            colour_model(VERSION),
            lambda p: {
                METADATA_KEY: json.dumps(
                    {k: v for k, v in json.loads(p[METADATA_KEY]).items() if k != "labels"}
                )
            },  # fmt: skip
        ),
        "metadata is invalid",
    ),
    "fewer-outputs-than-labels": (
        lambda: with_props(colour_model(VERSION, labels=LABELS[:3]), lambda _: props_of_good()),
        "output has 3 values for 5 labels",
    ),
    "text-file": (lambda: b"ir_version: 8\ngraph { name: 'nothing' }\n", "not a loadable ONNX"),
}


@pytest.fixture
def cloud() -> Iterator[CloudStub]:
    stub = CloudStub().start()
    yield stub
    stub.stop()


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer()


def make_updater(cloud: CloudStub, signer: Signer, tmp_path: Path) -> ModelUpdater:
    client = CloudClient(cloud.url, "device-token", HttpConfig(retries=0))
    return ModelUpdater(
        ModelHolder(OnnxBackend(colour_model("test-1"))),
        ModelCache(tmp_path / "models"),
        load_public_key(signer.public_pem),
        client,
        AgentStats(),
    )


def assert_refused(updater: ModelUpdater, tmp_path: Path, reason: str) -> None:
    assert updater.holder.current.version == "test-1"
    assert updater.refused == 1
    assert reason in (updater.stats.last_error or ""), updater.stats.last_error
    assert not (tmp_path / "models" / f"{VERSION}.onnx").exists()


@pytest.mark.parametrize("name", sorted(BAD_MODELS))
def test_a_signed_but_unusable_model_is_refused(
    cloud: CloudStub, signer: Signer, tmp_path: Path, name: str
) -> None:
    """Signed with the real key: the signature is no guarantee that the model runs here."""
    build, reason = BAD_MODELS[name]
    data = build()
    cloud.files["/m"] = data
    updater = make_updater(cloud, signer, tmp_path)
    assert not updater.apply(signer.announce(data, VERSION, "/m"))
    assert_refused(updater, tmp_path, reason)


@pytest.mark.parametrize(
    "signature",
    [
        "not base64 at all!",
        base64.b64encode(b"short").decode(),
        base64.b64encode(bytes(64)).decode(),
    ],
    ids=["not-base64", "too-short", "zeros"],
)
def test_a_signature_that_is_not_one_is_refused(
    cloud: CloudStub, signer: Signer, tmp_path: Path, signature: str
) -> None:
    data = colour_model(VERSION)
    cloud.files["/m"] = data
    updater = make_updater(cloud, signer, tmp_path)
    announcement = signer.announce(data, VERSION, "/m").model_copy(update={"signature": signature})
    assert not updater.apply(announcement)
    assert_refused(updater, tmp_path, "bad signature")
