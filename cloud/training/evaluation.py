"""Evaluation metrics for a trained model: window- and clip-level, falls collapsed.

Pure numpy, no torch, so a report can be recomputed from saved logits anywhere.
Conventions (stated once, used everywhere):

- label -1 marks an unlabelled window; evaluation ignores it entirely.
- all fall labels collapse into one "fall" class for fall recall/precision/AUC,
  because an alert fires on any fall: `fall_forward` mistaken for `fall_backward`
  is still a detected fall.
- a metric that is undefined on the data (no positives) is None, never a made-up 0 or 1,
  except fall precision with no fall predictions, which is 0.0 (scikit-learn's
  `zero_division=0`), so a model that never predicts a fall cannot look precise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from shared.labels import UNLABELLED, LabelSet


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax (the max is subtracted before exp)."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - np.max(z, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def _as_labels(values: np.ndarray | Sequence[int], name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class indices, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def confusion_matrix(
    y_true: np.ndarray | Sequence[int], y_pred: np.ndarray | Sequence[int], num_classes: int
) -> np.ndarray:
    """Counts[i, j] = samples of true class i predicted as j (rows are the truth)."""
    t, p = _as_labels(y_true, "y_true"), _as_labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.shape} vs {p.shape}")
    for name, arr in (("y_true", t), ("y_pred", p)):
        if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
            raise ValueError(f"{name} has class indices outside [0, {num_classes})")
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (t, p), 1)
    return counts


def _f1_per_class(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """F1 = 2TP / (2TP + FP + FN) per class, and which classes occur at all."""
    tp = np.diag(counts).astype(np.float64)
    denom = counts.sum(axis=1) + counts.sum(axis=0)  # support + predicted = 2TP + FP + FN
    present = denom > 0
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=present)
    return f1, present


def macro_f1(
    y_true: np.ndarray | Sequence[int], y_pred: np.ndarray | Sequence[int], num_classes: int
) -> float:
    """Unweighted mean F1 over classes; a class absent from both y_true and y_pred is excluded.

    Excluding absent classes keeps a test split without, say, `jumping` from scoring
    a free 0 (or 1) for it; a class that is predicted but never true still counts (F1 = 0).
    """
    counts = confusion_matrix(y_true, y_pred, num_classes)
    f1, present = _f1_per_class(counts)
    if not present.any():
        raise ValueError("macro-F1 of an empty set of samples is undefined")
    return float(f1[present].mean())


def per_class_recall(
    y_true: np.ndarray | Sequence[int],
    y_pred: np.ndarray | Sequence[int],
    label_names: Sequence[str],
) -> dict[str, float | None]:
    """Recall per label name; None where the class has no true samples."""
    counts = confusion_matrix(y_true, y_pred, len(label_names))
    support = counts.sum(axis=1)
    return {
        name: (float(counts[i, i] / support[i]) if support[i] else None)
        for i, name in enumerate(label_names)
    }


def fall_scores(
    y_true: np.ndarray | Sequence[int],
    y_pred: np.ndarray | Sequence[int],
    fall_indices: Sequence[int],
) -> dict[str, float | None]:
    """Fall recall and precision with every fall label collapsed into one class.

    fall_recall is None when there are no true falls; fall_precision is 0.0 when nothing
    is predicted as a fall (see the module docstring).
    """
    t, p = _as_labels(y_true, "y_true"), _as_labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.shape} vs {p.shape}")
    true_fall, pred_fall = np.isin(t, fall_indices), np.isin(p, fall_indices)
    hits = int(np.sum(true_fall & pred_fall))
    n_true, n_pred = int(true_fall.sum()), int(pred_fall.sum())
    return {
        "fall_recall": hits / n_true if n_true else None,
        "fall_precision": hits / n_pred if n_pred else 0.0,
    }


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, tied values sharing the mean of their ranks."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    first = np.flatnonzero(starts)
    sizes = np.diff(np.r_[first, values.size])
    group_rank = first + (sizes + 1) / 2.0
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = group_rank[np.cumsum(starts) - 1]
    return ranks


def binary_auc(
    y_true_bool: np.ndarray | Sequence[bool], scores: np.ndarray | Sequence[float]
) -> float | None:
    """ROC AUC by the Mann-Whitney rank formula (ties count one half); None for one class.

    AUC = (R_pos - n_pos (n_pos + 1) / 2) / (n_pos n_neg), with R_pos the sum of the
    positives' average ranks (Hanley & McNeil, Radiology 1982).
    """
    y = np.asarray(y_true_bool, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    if y.ndim != 1 or y.shape != s.shape:
        raise ValueError(f"labels and scores must be 1-D of one length: {y.shape} vs {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite")
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    rank_sum = float(_average_ranks(s)[y].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def fall_auc(
    y_true: np.ndarray | Sequence[int], probs: np.ndarray, fall_indices: Sequence[int]
) -> float | None:
    """AUC of "is a fall", scored by the summed probability of all fall classes."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probs must be (samples, classes), got shape {p.shape}")
    t = _as_labels(y_true, "y_true")
    score = p[:, list(fall_indices)].sum(axis=1)
    return binary_auc(np.isin(t, fall_indices), score)


def _clip_index(clip_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique clip ids and each window's position among them."""
    unique, inverse = np.unique(np.asarray(clip_ids), return_inverse=True)
    return unique, inverse.reshape(-1)


def clip_predictions(
    window_logits: np.ndarray, clip_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per video: (sorted unique clip ids, mean of its windows' logits)."""
    logits = np.asarray(window_logits, dtype=np.float64)
    if logits.ndim != 2 or logits.shape[0] != np.asarray(clip_ids).shape[0]:
        raise ValueError(f"need one clip id per logit row, got {logits.shape} logits")
    unique, inverse = _clip_index(clip_ids)
    sums = np.zeros((unique.size, logits.shape[1]), dtype=np.float64)
    np.add.at(sums, inverse, logits)
    counts = np.bincount(inverse, minlength=unique.size)
    return unique, sums / counts[:, None]


def clip_majority_labels(
    window_labels: np.ndarray, clip_ids: np.ndarray, num_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per video: (sorted unique clip ids, most common window label; ties go to the lower index)."""
    labels = _as_labels(window_labels, "window_labels")
    unique, inverse = _clip_index(clip_ids)
    votes = np.zeros((unique.size, num_classes), dtype=np.int64)
    np.add.at(votes, (inverse, labels), 1)
    return unique, votes.argmax(axis=1)


@dataclass(frozen=True)
class EvalResult:
    """Everything one evaluation reports; built by `evaluate_logits`."""

    accuracy_window: float
    accuracy_clip: float
    macro_f1: float
    per_class_recall: dict[str, float | None]
    fall_recall: float | None
    fall_precision: float
    fall_auc_window: float | None
    balanced_accuracy: float
    confusion: list[list[int]]
    n_windows: int
    n_clips: int

    def to_dict(self) -> dict[str, object]:
        """Plain Python values only, ready for json.dumps."""
        return asdict(self)


def _labelled_only(
    window_logits: np.ndarray, window_labels: np.ndarray, clip_ids: np.ndarray, num_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check shapes and drop unlabelled windows (label -1)."""
    logits = np.asarray(window_logits, dtype=np.float64)
    labels = _as_labels(window_labels, "window_labels")
    clips = np.asarray(clip_ids)
    if logits.ndim != 2 or logits.shape[1] != num_classes:
        raise ValueError(f"logits must be (windows, {num_classes}), got shape {logits.shape}")
    if not logits.shape[0] == labels.shape[0] == clips.shape[0]:
        raise ValueError(
            f"logits, labels and clip ids differ in length: "
            f"{logits.shape[0]}, {labels.shape[0]}, {clips.shape[0]}"
        )
    if not np.all(np.isfinite(logits)):
        raise ValueError("logits contain NaN or inf (a diverged model?)")
    keep = labels != UNLABELLED
    if not keep.any():
        raise ValueError("no labelled windows to evaluate (all labels are -1)")
    return logits[keep], labels[keep], clips[keep]


def _balanced_accuracy(recalls: dict[str, float | None]) -> float:
    """Mean recall over the classes that have true samples (scikit-learn's definition)."""
    defined = [r for r in recalls.values() if r is not None]
    return float(np.mean(defined))


def _clip_accuracy(logits: np.ndarray, labels: np.ndarray, clips: np.ndarray) -> float:
    _, mean_logits = clip_predictions(logits, clips)
    _, truth = clip_majority_labels(labels, clips, logits.shape[1])
    return float(np.mean(mean_logits.argmax(axis=1) == truth))


def evaluate_logits(
    window_logits: np.ndarray,
    window_labels: np.ndarray,
    clip_ids: np.ndarray,
    label_set: LabelSet,
) -> EvalResult:
    """Window metrics on labelled windows; a clip is judged by its windows' mean logits.

    Unlabelled windows are dropped before anything else, so they affect neither window
    nor clip scores, and a clip with no labelled window is not counted.
    """
    n = len(label_set)
    logits, labels, clips = _labelled_only(window_logits, window_labels, clip_ids, n)
    pred = logits.argmax(axis=1)
    falls = label_set.fall_indices()
    recalls = per_class_recall(labels, pred, label_set.names)
    fall = fall_scores(labels, pred, falls)
    return EvalResult(
        accuracy_window=float(np.mean(pred == labels)),
        accuracy_clip=_clip_accuracy(logits, labels, clips),
        macro_f1=macro_f1(labels, pred, n),
        per_class_recall=recalls,
        fall_recall=fall["fall_recall"],
        fall_precision=float(fall["fall_precision"] or 0.0),
        fall_auc_window=fall_auc(labels, softmax(logits), falls),
        balanced_accuracy=_balanced_accuracy(recalls),
        confusion=confusion_matrix(labels, pred, n).tolist(),
        n_windows=int(labels.size),
        n_clips=int(np.unique(clips).size),
    )


def mean_std(values: Sequence[float | None]) -> dict[str, float | int | None]:
    """Mean and sample std (ddof=1) across seeds, ignoring None; std is None below two values."""
    kept = np.array([v for v in values if v is not None], dtype=np.float64)
    n = int(kept.size)
    return {
        "mean": float(kept.mean()) if n else None,
        "std": float(kept.std(ddof=1)) if n >= 2 else None,
        "n": n,
    }
