"""How long an exported model takes per call in onnxruntime, measured the way the edge runs it."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

WARMUP_RUNS = 10


def ort_session(onnx_path: Path, threads: int = 1) -> ort.InferenceSession:
    """A CPU session with `threads` intra-op threads and one inter-op thread, as on the edge."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])


def random_input(session: ort.InferenceSession, batch: int) -> np.ndarray:
    """A float32 input of the session's shape, its symbolic (batch) dimension set to `batch`."""
    shape = [d if isinstance(d, int) else batch for d in session.get_inputs()[0].shape]
    return np.random.default_rng(0).standard_normal(shape, dtype=np.float32)


def ort_latency_ms(
    onnx_path: Path, runs: int = 50, threads: int = 1, batch: int = 1
) -> dict[str, float]:
    """p50 / p95 / mean milliseconds per call over `runs` calls after a warm-up."""
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}")
    session = ort_session(onnx_path, threads)
    feed = {session.get_inputs()[0].name: random_input(session, batch)}
    for _ in range(WARMUP_RUNS):  # first calls allocate buffers and pick kernels
        session.run(None, feed)
    times = np.empty(runs)
    for i in range(runs):
        start = time.perf_counter()
        session.run(None, feed)
        times[i] = (time.perf_counter() - start) * 1e3
    return {
        "p50": float(np.percentile(times, 50)),
        "p95": float(np.percentile(times, 95)),
        "mean": float(times.mean()),
    }
