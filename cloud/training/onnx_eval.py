"""Score an exported ONNX model with onnxruntime on a split's windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from cloud.training.evaluation import EvalResult, evaluate_logits
from cloud.training.windows import TwoViewWindows
from shared.labels import LabelSet
from shared.modelmeta import ModelMetadata


def onnx_session(path: Path, threads: int = 2) -> ort.InferenceSession:
    """A session of the model at `path`; a ValueError naming the file when it is none."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own types (InvalidProtobuf, Fail) subclass neither
        raise ValueError(f"{path} is not an ONNX model onnxruntime can load: {exc}") from exc


def onnx_logits(path: Path, data: TwoViewWindows, batch: int = 64) -> np.ndarray:
    """Logits of every window of `data` (student view) from the ONNX model at `path`."""
    session = onnx_session(path)
    input_name = session.get_inputs()[0].name
    out = []
    for start in range(0, len(data), batch):
        views = [data.view(i, "student", 0) for i in range(start, min(start + batch, len(data)))]
        out.append(session.run(None, {input_name: np.stack(views)})[0])
    return np.concatenate(out)


def evaluate_onnx(path: Path, data: TwoViewWindows, labels: LabelSet | None = None) -> EvalResult:
    session = onnx_session(path)
    meta = ModelMetadata.from_properties(session.get_modelmeta().custom_metadata_map)
    label_set = labels or meta.label_set
    if list(label_set.names) != meta.labels:
        raise ValueError(
            f"model labels {meta.labels} differ from the data's {list(label_set.names)}"
        )
    logits = onnx_logits(path, data)
    return evaluate_logits(logits, data.labels(), data.clip_ids(), label_set)
