"""Checkpoint -> one self-contained ONNX file the edge can run, checked against PyTorch.

Exporter: `torch.onnx.export(..., dynamo=True)`, the torch.export-based exporter (the
default since torch 2.9; the TorchScript exporter warns that it "will be removed",
https://docs.pytorch.org/docs/stable/onnx_export.html). Its lowest native opset is
18: asking for opset 17 fails in onnx's version converter on ReduceMean (axes
input -> attribute), which the exporter only logs before leaving opset 18. So 18 is
the default here, and any opset other than the one asked for is an error.
Opset 18 runs on onnxruntime >= 1.14.

Optional static INT8 in QDQ form, calibrated on real windows (onnxruntime's
recommended format for CPU: https://onnxruntime.ai/docs/performance/model-optimizations/quantization.html).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quant_pre_process,
    quantize_static,
)

from cloud.training.checkpoint import Checkpoint, load_checkpoint, model_from_checkpoint
from cloud.training.latency import ort_latency_ms, ort_session
from cloud.training.scoring import scoring_windows
from shared.files import staged_file
from shared.modelmeta import ModelMetadata

__all__ = [
    "ExportError",
    "export_model",
    "export_onnx",
    "ort_latency_ms",
    "quantize_int8",
    "read_metadata",
]

INPUT_NAME = "input"
OUTPUT_NAME = "logits"
DEFAULT_OPSET = 18
PARITY_BATCHES = (1, 3)
CALIBRATION_BATCH = 8


class ExportError(RuntimeError):
    """The exported model is not faithful to the checkpoint, or could not be written."""


def to_onnx_proto(
    model: torch.nn.Module, input_shape: tuple[int, ...], opset: int
) -> onnx.ModelProto:
    """Trace `model` with a dynamic batch dimension; input 'input', output 'logits'."""
    # Example batch 2: torch.export specialises sizes 0 and 1, so batch 1 would fix the dim.
    example = torch.zeros((2, *input_shape))
    program = torch.onnx.export(
        model,
        (example,),
        dynamo=True,
        verbose=False,
        opset_version=opset,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_shapes=({0: torch.export.Dim("batch")},),
    )
    if program is None:
        raise ExportError("torch.onnx.export returned no program")
    proto = program.model_proto
    got = next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
    if got != opset:
        raise ExportError(f"asked for opset {opset}, the exporter produced opset {got}")
    return proto


def set_metadata(proto: onnx.ModelProto, metadata: ModelMetadata) -> None:
    """Replace the model's metadata_props with Vigil's (what the edge reads back)."""
    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, metadata.to_properties())


def save_single_file(proto: onnx.ModelProto, path: Path) -> None:
    onnx.checker.check_model(proto)
    onnx.save_model(proto, str(path), save_as_external_data=False)


def parity_error(model: torch.nn.Module, onnx_path: Path, input_shape: tuple[int, ...]) -> float:
    """Largest |onnxruntime - PyTorch| logit over random inputs at batch 1 and 3."""
    session = ort_session(onnx_path)
    gen = torch.Generator().manual_seed(0)
    worst = 0.0
    for batch in PARITY_BATCHES:
        x = torch.randn((batch, *input_shape), generator=gen)
        with torch.no_grad():
            expected = model(x).numpy()
        (got,) = session.run([OUTPUT_NAME], {INPUT_NAME: x.numpy()})
        if got.shape != expected.shape:
            raise ExportError(f"onnx output shape {got.shape} != torch {expected.shape}")
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst


def export_onnx(
    ckpt: Checkpoint, out: Path, opset: int = DEFAULT_OPSET, parity_atol: float = 1e-4
) -> Path:
    """Export `ckpt` to `out` with its metadata; ExportError (and no file) if parity fails."""
    model = model_from_checkpoint(ckpt)
    input_shape = ckpt.model_config.input_shape
    proto = to_onnx_proto(model, input_shape, opset)
    set_metadata(proto, ckpt.metadata)
    with staged_file(out) as tmp:
        save_single_file(proto, tmp)
        err = parity_error(model, tmp, input_shape)
        if not err <= parity_atol:
            raise ExportError(f"onnxruntime differs from PyTorch by {err:.3g} > {parity_atol:g}")
    return Path(out)


def read_metadata(onnx_path: Path) -> ModelMetadata:
    """The Vigil metadata of an exported model, read the way the edge reads it."""
    props = ort_session(onnx_path).get_modelmeta().custom_metadata_map
    return ModelMetadata.from_properties(dict(props))


# --- int8 ----------------------------------------------------------------------------


class WindowReader(CalibrationDataReader):
    """Feeds calibration windows to onnxruntime's calibrator in small batches."""

    def __init__(self, windows: np.ndarray, batch: int = CALIBRATION_BATCH) -> None:
        self.batches = iter(np.array_split(windows, max(1, -(-len(windows) // batch))))

    def get_next(self) -> dict[str, np.ndarray] | None:
        chunk = next(self.batches, None)
        return None if chunk is None else {INPUT_NAME: np.ascontiguousarray(chunk)}


def check_calibration(onnx_path: Path, calibration: np.ndarray) -> None:
    if calibration.dtype != np.float32 or calibration.ndim != 5 or len(calibration) == 0:
        raise ValueError(
            f"calibration must be float32 windows (N,3,T,H,W), got {calibration.dtype} "
            f"{calibration.shape}"
        )
    spec = read_metadata(onnx_path).input
    if calibration.shape[1:] != (3, spec.frames, spec.height, spec.width):
        raise ValueError(f"calibration windows {calibration.shape[1:]} do not fit {onnx_path}")


def quantize_int8(onnx_path: Path, calibration: np.ndarray, out: Path) -> Path:
    """Static INT8 (QDQ, per-channel weights) calibrated on `calibration`; metadata kept.

    Static, not dynamic: dynamic quantization computes activation scales on every call
    (a DynamicQuantizeLinear before each ConvInteger); calibrated scales avoid that work.
    """
    check_calibration(onnx_path, calibration)
    with tempfile.TemporaryDirectory() as work, staged_file(out) as tmp:
        prepared = Path(work) / "prepared.onnx"
        quantized = Path(work) / "quantized.onnx"
        # Shape inference + graph cleanup first, as the quantization docs advise.
        quant_pre_process(str(onnx_path), str(prepared))
        quantize_static(
            str(prepared),
            str(quantized),
            WindowReader(calibration),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
        )
        proto = onnx.load_model(str(quantized))
        set_metadata(proto, read_metadata(onnx_path))
        save_single_file(proto, tmp)
    return Path(out)


def export_model(checkpoint: Path, out: Path, int8: bool, data: Path | None) -> list[Path]:
    """`vigil export`: a checkpoint to ONNX, and optionally int8 calibrated on `data`."""

    ckpt = load_checkpoint(checkpoint)
    written = [export_onnx(ckpt, out)]
    if int8:
        if data is None:
            raise ValueError("--int8 needs --data to calibrate on real windows")
        windows = scoring_windows(data, ckpt.metadata.input, None, None, 0, every_clip=True)
        picks = np.linspace(0, len(windows) - 1, min(200, len(windows))).astype(int)
        calibration = np.stack([windows.view(int(i), "student", 0) for i in picks])
        written.append(quantize_int8(out, calibration, out.with_suffix(".int8.onnx")))
    return written
