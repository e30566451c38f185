"""The onnxruntime backend on a real (tiny) ONNX model; the model's metadata drives it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from edge.backend import ModelHolder, ModelLoadError, OnnxBackend, as_probabilities
from shared.preprocess import window_to_input
from tests.kit.edge import COLOURS_RGB, LABELS, SPEC, bgr, colour_model


def window_of(label: str) -> np.ndarray:
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:] = bgr(COLOURS_RGB[label])
    return window_to_input([frame] * SPEC.frames, SPEC)


def test_labels_and_input_come_from_the_model(model_file: Path) -> None:
    backend = OnnxBackend(model_file)
    assert backend.labels == LABELS
    assert backend.spec == SPEC
    assert backend.version == "test-1"


@pytest.mark.parametrize("label", LABELS)
def test_the_colour_steers_the_prediction(model_file: Path, label: str) -> None:
    probs = OnnxBackend(model_file).infer(window_of(label))
    assert probs.sum() == pytest.approx(1.0)
    assert LABELS[int(np.argmax(probs))] == label and probs.max() > 0.9


def test_bytes_that_are_not_onnx_are_refused() -> None:
    with pytest.raises(ModelLoadError, match="not a loadable ONNX model"):
        OnnxBackend(b"definitely not a protobuf model", source="junk")


def test_a_model_without_metadata_is_refused() -> None:
    model = onnx.load_from_string(colour_model())
    del model.metadata_props[:]
    with pytest.raises(ModelLoadError, match="no 'vigil' metadata"):
        OnnxBackend(model.SerializeToString())


def test_a_model_whose_output_does_not_match_its_labels_is_refused() -> None:
    six = colour_model(labels=(*LABELS, "bending"))
    model = onnx.load_from_string(six)
    del model.metadata_props[:]
    good = onnx.load_from_string(colour_model())
    model.metadata_props.extend(good.metadata_props)  # metadata says 5 labels, output has 6
    with pytest.raises(ModelLoadError, match="output has 6 values for 5 labels"):
        OnnxBackend(model.SerializeToString())


def test_logits_and_probabilities_both_become_probabilities() -> None:
    assert as_probabilities(np.array([0.2, 0.8])) == pytest.approx([0.2, 0.8])
    assert as_probabilities(np.array([0.0, 0.0])) == pytest.approx([0.5, 0.5])
    assert as_probabilities(np.array([2.0, -1.0])).sum() == pytest.approx(1.0)


def test_holder_swaps_and_rolls_back(model_file: Path) -> None:
    first, second = OnnxBackend(model_file), OnnxBackend(colour_model("test-2"))
    holder = ModelHolder(first)
    assert holder.swap(second) is first
    assert holder.current.version == "test-2" and holder.previous is first
    assert holder.rollback().version == "test-1"
    assert holder.previous is second
