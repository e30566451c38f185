"""Evaluation metrics, plots and the model card, checked against values worked by hand."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from cloud.training.evaluation import (
    binary_auc,
    clip_predictions,
    confusion_matrix,
    evaluate_logits,
    fall_auc,
    fall_scores,
    macro_f1,
    mean_std,
    per_class_recall,
    softmax,
)
from cloud.training.model_card import render_model_card
from cloud.training.params import TrainingParams
from cloud.training.plots import (
    LatencyPoint,
    plot_accuracy_vs_latency,
    plot_confusion,
    plot_curves,
)
from cloud.training.report import (
    KdSettings,
    ModelEntry,
    ModelName,
    RunReport,
    SweepPoint,
    TeacherGate,
    Timing,
)
from shared.labels import LabelSet
from shared.preprocess import InputSpec

# Hand example: 3 classes, 6 samples.
Y_TRUE = [0, 0, 1, 1, 2, 2]
Y_PRED = [0, 1, 1, 1, 2, 0]


def test_confusion_matrix_rows_are_truth() -> None:
    # class 0 -> predicted 0, 1; class 1 -> 1, 1; class 2 -> 2, 0
    expected = [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    np.testing.assert_array_equal(confusion_matrix(Y_TRUE, Y_PRED, 3), expected)


def test_confusion_matrix_refuses_out_of_range_class() -> None:
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix([0, 3], [0, 1], 3)


def test_macro_f1_by_hand() -> None:
    # F1 = 2TP / (2TP + FP + FN):
    #   class 0: TP 1, FP 1, FN 1 -> 2/4 = 0.5
    #   class 1: TP 2, FP 1, FN 0 -> 4/5 = 0.8
    #   class 2: TP 1, FP 0, FN 1 -> 2/3
    expected = (0.5 + 0.8 + 2 / 3) / 3  # 0.65556
    assert macro_f1(Y_TRUE, Y_PRED, 3) == pytest.approx(expected)


def test_macro_f1_excludes_classes_absent_from_truth_and_predictions() -> None:
    # class 3 is neither true nor predicted: the mean stays over classes 0-2
    assert macro_f1(Y_TRUE, Y_PRED, 4) == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)


def test_macro_f1_counts_a_class_that_is_only_predicted() -> None:
    # class 0: TP 1, FN 1 -> 2/3; class 1 never true but predicted once: F1 0
    assert macro_f1([0, 0], [0, 1], 2) == pytest.approx((2 / 3 + 0.0) / 2)


def test_per_class_recall_is_none_for_absent_class() -> None:
    recalls = per_class_recall(Y_TRUE, Y_PRED, ["a", "b", "c", "d"])
    assert recalls == {"a": 0.5, "b": 1.0, "c": 0.5, "d": None}


def test_fall_scores_collapse_fall_labels() -> None:
    # labels: 0 walking, 1 fall_forward, 2 fall_backward, 3 lying; falls are 1 and 2
    y_true = [1, 1, 2, 2, 0, 3]
    y_pred = [2, 1, 0, 2, 1, 3]
    # true falls: samples 0-3 (4); predicted falls: samples 0, 1, 3, 4 (4)
    # hits: 0 (fall_forward seen as fall_backward still counts), 1, 3 -> 3
    scores = fall_scores(y_true, y_pred, [1, 2])
    assert scores == {"fall_recall": 0.75, "fall_precision": 0.75}


def test_fall_precision_is_zero_when_nothing_predicted_as_fall() -> None:
    assert fall_scores([1, 0], [0, 0], [1]) == {"fall_recall": 0.0, "fall_precision": 0.0}


def test_fall_recall_is_none_without_true_falls() -> None:
    assert fall_scores([0, 0], [1, 0], [1]) == {"fall_recall": None, "fall_precision": 0.0}


@pytest.mark.parametrize(
    ("y", "scores", "expected"),
    [
        ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], 1.0),
        ([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1], 0.0),
        ([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5], 0.5),
        # pos {0.5, 0.9} vs neg {0.1, 0.5}: 1 + 0.5 (tie) + 1 + 1 = 3.5 of 4 pairs
        ([0, 1, 0, 1], [0.1, 0.5, 0.5, 0.9], 0.875),
    ],
)
def test_binary_auc_by_hand(y: list[int], scores: list[float], expected: float) -> None:
    assert binary_auc(np.array(y, bool), scores) == pytest.approx(expected)


def test_binary_auc_is_none_for_one_class() -> None:
    assert binary_auc([True, True], [0.1, 0.9]) is None
    assert binary_auc([False, False], [0.1, 0.9]) is None


def brute_force_auc(y: np.ndarray, s: np.ndarray) -> float:
    """P(score_pos > score_neg) + 0.5 P(tie), over every positive-negative pair."""
    pairs = list(itertools.product(s[y], s[~y]))
    return sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs) / len(pairs)


@pytest.mark.parametrize("seed", range(5))
def test_binary_auc_matches_pairwise_count(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.random(60) < 0.3
    s = np.round(rng.random(60) + 0.3 * y, 1)  # rounding makes many ties
    assert binary_auc(y, s) == pytest.approx(brute_force_auc(y, s))


def test_fall_auc_sums_fall_probabilities() -> None:
    # fall classes 1 and 2: each fall sample has 0.3 + 0.3 = 0.6 fall mass, but no single
    # fall class beats the 0.4 of class 0, so scoring by one class would rank them wrongly
    probs = np.array([[0.4, 0.3, 0.3], [0.4, 0.3, 0.3], [0.5, 0.25, 0.25], [0.9, 0.05, 0.05]])
    assert fall_auc([1, 2, 0, 0], probs, [1, 2]) == pytest.approx(1.0)


def test_softmax_is_stable_and_normalised() -> None:
    p = softmax(np.array([[1000.0, 1000.0], [0.0, math.log(3.0)]]))
    np.testing.assert_allclose(p, [[0.5, 0.5], [0.25, 0.75]])


def test_clip_prediction_is_mean_of_logits_not_a_vote() -> None:
    logits = np.array([[3.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 2.0]])
    # clip 7: votes 0, 1, 1 (a vote would say 1) but the mean is [1, 2/3] -> class 0
    ids, mean = clip_predictions(logits, np.array([7, 7, 7, 3]))
    np.testing.assert_array_equal(ids, [3, 7])
    np.testing.assert_allclose(mean, [[0.0, 2.0], [1.0, 2 / 3]])


LABELS = LabelSet.from_names(["walking", "falling", "lying_on_floor"])


def small_run() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    logits = np.array(
        [
            [2.0, 0.0, 0.0],  # clip a, walking, predicted walking
            [0.0, 1.0, 0.0],  # clip a, walking, predicted falling
            [0.0, 0.0, 100.0],  # clip a, unlabelled: would flip clip a if counted
            [0.0, 3.0, 0.0],  # clip b, falling
            [0.0, 3.0, 0.0],  # clip b, falling
            [0.0, 0.0, 5.0],  # clip c, unlabelled only: clip not counted
        ]
    )
    labels = np.array([0, 0, -1, 1, 1, -1])
    clips = np.array(["a", "a", "a", "b", "b", "c"])
    return logits, labels, clips


def test_evaluate_ignores_unlabelled_windows() -> None:
    result = evaluate_logits(*small_run(), LABELS)
    # labelled: truth [0, 0, 1, 1], predicted [0, 1, 1, 1]
    assert (result.n_windows, result.n_clips) == (4, 2)
    assert result.accuracy_window == pytest.approx(0.75)
    # clip a: mean logits [1, 0.5, 0] -> walking (right); clip b -> falling (right)
    assert result.accuracy_clip == pytest.approx(1.0)
    assert result.confusion == [[1, 1, 0], [0, 2, 0], [0, 0, 0]]
    # walking F1 2/3, falling F1 4/5, lying absent from both and excluded
    assert result.macro_f1 == pytest.approx((2 / 3 + 0.8) / 2)
    assert result.per_class_recall == {"walking": 0.5, "falling": 1.0, "lying_on_floor": None}
    assert result.balanced_accuracy == pytest.approx(0.75)
    assert (result.fall_recall, result.fall_precision) == (1.0, pytest.approx(2 / 3))
    assert result.fall_auc_window == pytest.approx(1.0)


def test_evaluate_refuses_all_unlabelled() -> None:
    logits, _, clips = small_run()
    with pytest.raises(ValueError, match="no labelled windows"):
        evaluate_logits(logits, np.full(6, -1), clips, LABELS)


def test_evaluate_refuses_nan_logits() -> None:
    logits, labels, clips = small_run()
    logits[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        evaluate_logits(logits, labels, clips, LABELS)


def test_evaluate_refuses_wrong_class_count() -> None:
    logits, labels, clips = small_run()
    with pytest.raises(ValueError, match="windows, 3"):
        evaluate_logits(logits[:, :2], labels, clips, LABELS)


def test_a_report_entry_has_the_agreed_keys_and_reads_back_from_json() -> None:
    kd = KdSettings(temperature=4.0, lam=0.1, teacher="teacher-1")
    entry = ModelEntry.of(evaluate_logits(*small_run(), LABELS).to_dict(), 1234, 56789, 1.5, kd)
    required = [
        "accuracy_window",
        "accuracy_clip",
        "macro_f1",
        "per_class_recall",
        "fall_recall",
        "fall_precision",
        "params",
        "macs",
        "ort_latency_ms",
        "kd",
    ]
    extra = ["fall_auc_window", "balanced_accuracy", "confusion", "n_windows", "n_clips"]
    record = entry.model_dump(mode="json")
    assert set(record) == set(required + extra)
    assert ModelEntry.model_validate(json.loads(json.dumps(record))) == entry
    assert (record["params"], record["kd"]["temperature"]) == (1234, 4.0)


def test_mean_std_ignores_none() -> None:
    # values 1 and 3: mean 2, sample std sqrt(((1-2)^2 + (3-2)^2) / 1) = sqrt(2)
    assert mean_std([1.0, None, 3.0]) == {"mean": 2.0, "std": pytest.approx(math.sqrt(2)), "n": 2}
    assert mean_std([0.5]) == {"mean": 0.5, "std": None, "n": 1}
    assert mean_std([None]) == {"mean": None, "std": None, "n": 0}


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG that decodes."""
    assert path.stat().st_size > 1000
    image = imread(path)
    return image.shape[1], image.shape[0]


def test_plot_curves_tolerates_missing_keys(tmp_path: Path) -> None:
    histories = {
        "teacher": [
            {"epoch": 1, "train_loss": 2.0, "val_macro_f1": 0.2, "val_accuracy": 0.3},
            {"epoch": 2, "train_loss": 1.5, "val_macro_f1": 0.4, "val_accuracy": 0.5},
        ],
        "student_scratch": [{"epoch": 1, "train_loss": 2.2}, {"epoch": 2, "train_loss": 1.9}],
        "student_kd": [{"train_loss": 2.1, "val_macro_f1": 0.3}],
    }
    width, height = png_size(plot_curves(histories, tmp_path / "curves.png"))
    assert 1200 <= width <= 1800 and 300 <= height <= 600  # three panels side by side


def test_plot_confusion_with_eleven_long_labels(tmp_path: Path) -> None:
    names = [f"fall_using_{i}_hands_forward" for i in range(11)]
    counts = np.random.default_rng(0).integers(0, 20, (11, 11))
    counts[3] = 0  # a class with no test samples must not divide by zero
    out = plot_confusion(counts, names, tmp_path / "sub" / "confusion.png", "student_kd")
    width, height = png_size(out)
    assert 900 <= width <= 1600 and 900 <= height <= 1600


def test_plot_confusion_refuses_mismatched_labels(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="3 x 3"):
        plot_confusion([[1, 0], [0, 1]], ["a", "b", "c"], tmp_path / "c.png", "x")


def test_plot_accuracy_vs_latency(tmp_path: Path) -> None:
    points: list[LatencyPoint] = [
        {"name": "teacher", "latency_ms": 120.0, "accuracy": 0.8, "std": 0.02},
        {"name": "student_kd", "latency_ms": 2.5, "accuracy": 0.7},
        {"name": "student_int8", "latency_ms": 1.1, "accuracy": 0.68, "std": None},
    ]
    width, height = png_size(plot_accuracy_vs_latency(points, tmp_path / "acc.png"))
    assert 500 <= width <= 900 and 400 <= height <= 700


def test_plot_accuracy_vs_latency_refuses_zero_latency(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="positive"):
        plot_accuracy_vs_latency(
            [{"name": "x", "latency_ms": 0.0, "accuracy": 0.5}], tmp_path / "a.png"
        )


def run_report(sweep: int = 2) -> RunReport:
    """A report shaped as `cloud.training.pipeline` writes it."""
    scores = evaluate_logits(*small_run(), LABELS).to_dict()
    points = [SweepPoint(temperature=t, lam=0.3, val_macro_f1=0.5) for t in (2.0, 4.0)[:sweep]]
    kd = KdSettings(temperature=4.0, lam=0.3, teacher="teacher-1", sweep=points)
    gate = TeacherGate(
        teacher_better=True, teacher_val_f1=0.81, student_val_f1=0.55, message=GATE_MESSAGE
    )
    return RunReport(
        exported=ModelName.STUDENT_KD,
        teacher_gate=gate,
        teacher=ModelEntry.of(scores, 2_000_000, 10**9, 40.0),
        student_scratch=ModelEntry.of(scores, 50_000, 10**6, None),
        student_kd=ModelEntry.of(scores, 50_000, 10**6, 0.8, kd),
        timing=Timing(teacher_s=12.0),
        params=TrainingParams(test_where="trial=3"),
    )


def card(report: RunReport) -> str:
    spec = InputSpec(frames=8, height=32, width=32, clip_seconds=1.8)
    return render_model_card(report, "../shared/data/upfall-s1", list(LABELS.names), spec)


GATE_MESSAGE = "teacher gate: teacher val macro-F1 0.810 is better than the student without KD"


def test_model_card_has_table_and_gate_message() -> None:
    text = card(run_report())
    assert "| model | clip accuracy | macro-F1 | fall recall | fall precision |" in text
    # the small run: clip acc 1, macro-F1 (2/3 + 4/5) / 2 = 0.733, fall recall 1, precision 2/3
    assert "| student_kd | 1.000 | 0.733 | 1.000 | 0.667 | 50,000 | 0.80 |" in text
    assert "| student_scratch | 1.000 | 0.733 | 1.000 | 0.667 | 50,000 | n/a |" in text
    assert "timing" not in text  # only model entries become rows
    assert GATE_MESSAGE in text and "**passed**" in text
    assert "T = 4.0, lam = 0.3, chosen on validation from 2 settings" in text
    assert "8 x 32 x 32" in text and "trial=3" in text and "leave-one-person-out" in text
    assert "Fall labels (collapsed into one alert): falling." in text
    assert "Validation split: not recorded." in text


def test_model_card_mentions_a_sweep_only_when_there_was_one() -> None:
    text = card(run_report(sweep=1))
    assert "T = 4.0, lam = 0.3, in" in text and "chosen" not in text


def test_model_card_renders_again_from_a_saved_report() -> None:
    report = run_report()
    again = RunReport.model_validate_json(json.dumps(report.as_json()))
    assert card(again) == card(report)
