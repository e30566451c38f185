"""PNG plots for run reports and benchmarks: training curves, confusion, accuracy vs latency.

Figures are built with `matplotlib.figure.Figure` directly, never through pyplot: no GUI
backend is ever chosen, so this works headless (training workers, CI), and there is no
pyplot figure registry to leak or close (matplotlib's "Embed in a web application server"
example: https://matplotlib.org/stable/gallery/user_interfaces/web_application_server_sgskip.html).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NotRequired, TypedDict

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

DPI = 100
CURVE_PANELS: tuple[tuple[str, str], ...] = (
    ("train_loss", "train loss"),
    ("val_macro_f1", "val macro-F1"),
    ("val_accuracy", "val accuracy"),
)


class LatencyPoint(TypedDict):
    """One model on the accuracy-vs-latency plot; std is across seeds when known."""

    name: str
    latency_ms: float
    accuracy: float
    std: NotRequired[float | None]


def _save(fig: Figure, out: Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=DPI)
    return out


def curve_series(
    rows: Sequence[Mapping[str, float | None]], key: str
) -> tuple[list[float], list[float]]:
    """(epochs, values) for one metric; rows without it, or with None/NaN, are skipped."""
    epochs: list[float] = []
    values: list[float] = []
    for i, row in enumerate(rows):
        value = row.get(key)
        if value is None or not math.isfinite(value):
            continue
        epoch = row.get("epoch")
        epochs.append(float(i + 1 if epoch is None else epoch))
        values.append(float(value))
    return epochs, values


def _curve_panels(histories: Mapping[str, Sequence[Mapping[str, float | None]]]) -> list[str]:
    """Loss and macro-F1 always; accuracy only when some model logged it."""
    logged = {k for rows in histories.values() for row in rows for k in row}
    return [k for k, _ in CURVE_PANELS if k != "val_accuracy" or k in logged]


def plot_curves(histories: Mapping[str, Sequence[Mapping[str, float | None]]], out: Path) -> Path:
    """Training loss, val macro-F1 (and val accuracy if logged) per epoch, one line per model."""
    if not histories:
        raise ValueError("no training histories to plot")
    panels = _curve_panels(histories)
    titles = dict(CURVE_PANELS)
    fig = Figure(figsize=(5.0 * len(panels), 4.0), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, key in zip(axes, panels, strict=True):
        for i, (name, rows) in enumerate(histories.items()):
            epochs, values = curve_series(rows, key)
            ax.plot(epochs, values, marker=".", color=f"C{i}", label=name)
        ax.set_title(titles[key])
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0].legend()
    return _save(fig, out)


def row_normalised(confusion: np.ndarray) -> np.ndarray:
    """Each row divided by its total (the fraction of a true class); empty rows stay 0."""
    counts = np.asarray(confusion, dtype=np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def _annotate_cells(ax: Axes, counts: np.ndarray, fractions: np.ndarray) -> None:
    """Write the count and row percentage in each non-empty cell, light text on dark cells."""
    fontsize = 9 if counts.shape[0] <= 8 else 7
    for (i, j), count in np.ndenumerate(counts):
        if count == 0:
            continue
        colour = "white" if fractions[i, j] > 0.5 else "black"
        text = f"{int(count)}\n{fractions[i, j]:.0%}"
        ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=fontsize)


def plot_confusion(
    confusion: np.ndarray | Sequence[Sequence[int]],
    label_names: Sequence[str],
    out: Path,
    title: str,
) -> Path:
    """Confusion matrix coloured by row fraction, with counts written in the cells."""
    counts = np.asarray(confusion, dtype=np.int64)
    n = len(label_names)
    if counts.shape != (n, n):
        raise ValueError(f"confusion must be {n} x {n} for {n} labels, got {counts.shape}")
    fractions = row_normalised(counts)
    side = max(5.0, 0.75 * n + 3.0)  # about 1000 px for UP-Fall's 11 labels
    fig = Figure(figsize=(side + 1.0, side), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, shrink=0.8, label="fraction of the true class")
    ax.set_xticks(range(n), list(label_names), rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(n), list(label_names))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    _annotate_cells(ax, counts, fractions)
    return _save(fig, out)


def _check_latency_points(points: Sequence[LatencyPoint]) -> None:
    if not points:
        raise ValueError("no points to plot")
    for p in points:
        if not p["latency_ms"] > 0:
            raise ValueError(f"{p['name']}: latency must be positive on a log axis")


def plot_accuracy_vs_latency(points: Sequence[LatencyPoint], out: Path) -> Path:
    """Accuracy against latency (log x), each point named, error bars where std is known."""
    _check_latency_points(points)
    fig = Figure(figsize=(7.0, 5.0), layout="constrained")
    ax = fig.subplots()
    for i, p in enumerate(points):
        std = p.get("std")
        ax.errorbar(p["latency_ms"], p["accuracy"], yerr=std, fmt="o", color=f"C{i}", capsize=4)
        ax.annotate(
            p["name"],
            (p["latency_ms"], p["accuracy"]),
            textcoords="offset points",
            xytext=(6, 6),
            fontsize=9,
        )
    ax.set_xscale("log")
    ax.margins(x=0.15, y=0.1)  # room for the names beside the outermost points
    ax.set_xlabel("latency per window (ms, log scale)")
    ax.set_ylabel("accuracy")
    ax.grid(alpha=0.3, which="both")
    return _save(fig, out)
