"""ONNX export: parity with PyTorch, metadata the edge can read, dynamic batch, INT8."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F

import cloud.training.export as export_module
from cloud.training.checkpoint import Checkpoint, model_from_checkpoint
from cloud.training.export import (
    ExportError,
    export_onnx,
    ort_latency_ms,
    quantize_int8,
    read_metadata,
)
from cloud.training.networks import ModelConfig, build_model
from shared.labels import LabelSet
from shared.modelmeta import ModelMetadata
from shared.preprocess import InputSpec

LABELS = LabelSet.from_names(["walking", "sitting_down", "falling", "lying_on_floor"])
# The real student input size, narrower channels so that training in a test is quick.
CONFIG = ModelConfig("student", len(LABELS), 8, 32, 32, channels=(8, 16, 32), dropout=0.0)


def class_patterns(seed: int = 0) -> torch.Tensor:
    """One smooth spatio-temporal pattern per class: a structured, learnable signal."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.randn(len(LABELS), 3, 2, 4, 4, generator=gen)
    return 1.5 * F.interpolate(coarse, size=CONFIG.input_shape[1:], mode="trilinear")


def windows(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` noisy windows of the class patterns and their labels."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(0, len(LABELS), (n,), generator=gen)
    noise = torch.randn(n, *CONFIG.input_shape, generator=gen)
    return class_patterns()[y] + 0.8 * noise, y


def train_briefly(steps: int = 80) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(CONFIG)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(steps):
        x, y = windows(16, seed=step)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def ckpt() -> Checkpoint:
    spec = InputSpec(frames=CONFIG.frames, height=CONFIG.height, width=CONFIG.width)
    meta = ModelMetadata.for_labels(
        LABELS, model_version="s-7", teacher_version="t-3", input=spec, metrics={"f1": 0.8}
    )
    model = train_briefly()
    return Checkpoint("student", CONFIG, model.state_dict(), meta, train_config={"lr": 3e-3})


@pytest.fixture(scope="module")
def onnx_path(ckpt: Checkpoint, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_onnx(ckpt, tmp_path_factory.mktemp("export") / "student.onnx")


def run_onnx(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"input": x})[0]


def test_briefly_trained_model_has_learnt_the_patterns(ckpt: Checkpoint) -> None:
    x, y = windows(64, seed=1000)
    with torch.no_grad():
        accuracy = (model_from_checkpoint(ckpt)(x).argmax(1) == y).float().mean().item()
    assert accuracy >= 0.9  # else the int8 agreement test below would prove little


def test_export_is_one_self_contained_file(onnx_path: Path) -> None:
    assert [p.name for p in onnx_path.parent.iterdir()] == ["student.onnx"]
    model = onnx.load(str(onnx_path), load_external_data=False)
    assert not any(onnx.external_data_helper.uses_external_data(t) for t in model.graph.initializer)
    assert [i.name for i in model.graph.input] == ["input"]
    assert [o.name for o in model.graph.output] == ["logits"]


def test_metadata_round_trips_through_onnxruntime(ckpt: Checkpoint, onnx_path: Path) -> None:
    assert read_metadata(onnx_path) == ckpt.metadata


@pytest.mark.parametrize("batch", [1, 4])
def test_dynamic_batch_matches_pytorch(ckpt: Checkpoint, onnx_path: Path, batch: int) -> None:
    x, _ = windows(batch, seed=2000 + batch)
    with torch.no_grad():
        expected = model_from_checkpoint(ckpt)(x).numpy()
    got = run_onnx(onnx_path, x.numpy())
    assert got.shape == (batch, len(LABELS))
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_failed_parity_raises_and_leaves_no_file(ckpt: Checkpoint, tmp_path: Path) -> None:
    out = tmp_path / "student.onnx"
    with pytest.raises(ExportError, match="differs from PyTorch"):
        export_onnx(ckpt, out, parity_atol=-1.0)
    assert list(tmp_path.iterdir()) == []


def test_an_opset_the_exporter_cannot_reach_is_an_error(ckpt: Checkpoint, tmp_path: Path) -> None:
    # The dynamo exporter cannot down-convert ReduceMean to opset 17 and would keep 18.
    with pytest.raises(ExportError, match="opset 17"):
        export_onnx(ckpt, tmp_path / "student.onnx", opset=17)
    assert list(tmp_path.iterdir()) == []


def test_export_that_differs_from_the_model_is_caught(
    ckpt: Checkpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_to_onnx = export_module.to_onnx_proto

    def export_other_weights(model: torch.nn.Module, *args: object) -> onnx.ModelProto:
        torch.manual_seed(1)
        return real_to_onnx(build_model(CONFIG).eval(), *args)  # type: ignore[arg-type]

    monkeypatch.setattr(export_module, "to_onnx_proto", export_other_weights)
    with pytest.raises(ExportError):
        export_onnx(ckpt, tmp_path / "student.onnx")
    assert list(tmp_path.iterdir()) == []


def test_int8_agrees_with_fp32_and_keeps_metadata(
    ckpt: Checkpoint, onnx_path: Path, tmp_path: Path
) -> None:
    calibration, _ = windows(64, seed=3000)
    int8 = quantize_int8(onnx_path, calibration.numpy(), tmp_path / "student.int8.onnx")
    assert [p.name for p in tmp_path.iterdir()] == ["student.int8.onnx"]
    ops = {n.op_type for n in onnx.load(str(int8)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert read_metadata(int8) == ckpt.metadata
    test_x, _ = windows(128, seed=4000)
    fp32 = run_onnx(onnx_path, test_x.numpy()).argmax(1)
    q = run_onnx(int8, test_x.numpy()).argmax(1)
    assert (fp32 == q).mean() >= 0.9


def test_int8_rejects_calibration_of_the_wrong_shape(onnx_path: Path, tmp_path: Path) -> None:
    wrong = np.zeros((4, 3, 8, 16, 16), dtype=np.float32)
    with pytest.raises(ValueError, match="do not fit"):
        quantize_int8(onnx_path, wrong, tmp_path / "q.onnx")
    assert list(tmp_path.iterdir()) == []


def test_latency_numbers_are_sane(onnx_path: Path) -> None:
    stats = ort_latency_ms(onnx_path, runs=20, threads=1, batch=2)
    assert 0 < stats["p50"] <= stats["p95"] < 1000
    assert np.isfinite(stats["mean"])
