"""The inference backend: an ONNX student run by onnxruntime, warmed up at load.

The model describes itself (`shared.modelmeta`: labels, fall labels, input spec), so the
edge holds no second copy of them. A model that cannot load, lacks metadata, or whose
output does not match its labels is refused with `ModelLoadError`.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from shared.modelmeta import ModelMetadata, ModelMetadataError
from shared.preprocess import InputSpec


class ModelLoadError(ValueError):
    """A model artifact cannot be run by this agent; the message says why."""


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - np.max(logits)
    exp = np.exp(shifted)
    return exp / np.sum(exp)


def as_probabilities(output: np.ndarray) -> np.ndarray:
    """A model may end in logits or in a softmax; return probabilities either way."""
    out = np.asarray(output, dtype=np.float64).reshape(-1)
    if np.all(out >= 0) and np.all(out <= 1) and abs(float(out.sum()) - 1.0) < 1e-3:
        return out / out.sum()
    return softmax(out)


class OnnxBackend:
    """One loaded student: `infer` maps a (3, T, H, W) window to a probability per label."""

    def __init__(self, model: bytes | Path, threads: int = 1, source: str = "") -> None:
        self.source = source or (str(model) if isinstance(model, Path) else "<bytes>")
        self.session = _open_session(model, threads, self.source)
        self.meta = _read_metadata(self.session, self.source)
        self.input_name = self.session.get_inputs()[0].name
        self._check_input_rank()
        self.warm_up()

    @property
    def version(self) -> str:
        return self.meta.model_version

    @property
    def spec(self) -> InputSpec:
        return self.meta.input

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.meta.labels)

    def _check_input_rank(self) -> None:
        shape = self.session.get_inputs()[0].shape
        if len(shape) != 5:
            raise ModelLoadError(f"{self.source}: input must be (N, 3, T, H, W), got {shape}")

    def warm_up(self) -> float:
        """Run one zero window (allocates buffers, checks the output); return its seconds."""
        window = np.zeros((3, self.spec.frames, self.spec.height, self.spec.width), np.float32)
        started = time.monotonic()
        try:
            self.infer(window)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelLoadError(f"{self.source}: warm-up inference failed: {exc}") from exc
        return time.monotonic() - started

    def infer(self, window: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(window[np.newaxis], dtype=np.float32)
        (output,) = self.session.run(None, {self.input_name: batch})[:1]
        if output.size != len(self.labels):
            raise ModelLoadError(
                f"{self.source}: output has {output.size} values for {len(self.labels)} labels"
            )
        return as_probabilities(output)


def _open_session(model: bytes | Path, threads: int, source: str) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: warnings about unused initialisers are noise
    target = str(model) if isinstance(model, Path) else model
    try:
        return ort.InferenceSession(target, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # InvalidProtobuf, Fail, NoSuchFile: all mean "not runnable"
        raise ModelLoadError(f"{source}: not a loadable ONNX model: {exc}") from exc


def _read_metadata(session: ort.InferenceSession, source: str) -> ModelMetadata:
    props = dict(session.get_modelmeta().custom_metadata_map)
    try:
        return ModelMetadata.from_properties(props)
    except ModelMetadataError as exc:
        raise ModelLoadError(f"{source}: {exc}") from exc


class ModelHolder:
    """The running model and the one before it; swaps are atomic under a lock.

    Inference takes a reference under the lock and runs outside it, so a swap never
    waits for an inference and an inference never sees half a swap.
    """

    def __init__(self, backend: OnnxBackend) -> None:
        self._lock = threading.Lock()
        self._current = backend
        self._previous: OnnxBackend | None = None

    @property
    def current(self) -> OnnxBackend:
        with self._lock:
            return self._current

    @property
    def previous(self) -> OnnxBackend | None:
        with self._lock:
            return self._previous

    def swap(self, backend: OnnxBackend) -> OnnxBackend:
        """Make `backend` current; keep the old one for rollback and return it."""
        with self._lock:
            old, self._current, self._previous = self._current, backend, self._current
        return old

    def rollback(self) -> OnnxBackend:
        """Go back to the previous model; raise if there is none."""
        with self._lock:
            if self._previous is None:
                raise ModelLoadError("no previous model to roll back to")
            self._current, self._previous = self._previous, self._current
            return self._current
