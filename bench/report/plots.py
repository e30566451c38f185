"""The PNG figures of docs/BENCHMARKS.md, each drawn from one result JSON."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloud.training.report import ModelName

MODEL_NAMES = {
    ModelName.TEACHER: "teacher",
    ModelName.STUDENT_SCRATCH: "student, no KD",
    ModelName.STUDENT_KD: "student, KD",
    ModelName.STUDENT_KD_UNLABELED: "student, KD + unlabelled",
}
MARKERS = {
    ModelName.TEACHER: "s",
    ModelName.STUDENT_SCRATCH: "o",
    ModelName.STUDENT_KD: "^",
    ModelName.STUDENT_KD_UNLABELED: "v",
}
Stat = tuple[float | None, float]  # mean (None: not measured), std (0 for one seed)


@dataclass(frozen=True)
class LatencyPoint:
    """One model of one kd split: where it sits on the accuracy/latency plot."""

    split: str
    model: ModelName
    latency_ms: float
    accuracy: float


@dataclass(frozen=True)
class SizePoint:
    """One student at one input size: latency, and clip accuracy over seeds."""

    size: int
    model: ModelName
    latency_ms: float
    accuracy: float
    std: float


@dataclass(frozen=True)
class SharePoint:
    """The KD + unlabelled student at one share of unlabelled video, and its no-KD baseline."""

    share: float
    accuracy: Stat
    auc: Stat
    scratch_accuracy: Stat
    scratch_auc: Stat


def _pyplot():  # matplotlib is imported lazily (train extra)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def accuracy_vs_latency(points: list[LatencyPoint], out: Path) -> Path:
    """Clip accuracy against ONNX window latency: colour = dataset split, marker = model."""
    from matplotlib.lines import Line2D

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.4, 4.4))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    splits = list(dict.fromkeys(p.split for p in points))
    colour = {split: colours[n % len(colours)] for n, split in enumerate(splits)}
    for p in points:
        ax.scatter(
            p.latency_ms,
            p.accuracy,
            marker=MARKERS[p.model],
            s=60,
            color=colour[p.split],
            alpha=0.85,
        )
    models = list(dict.fromkeys(p.model for p in points))
    handles = [Line2D([], [], ls="", marker="s", color=colour[s], label=s) for s in splits]
    handles += [
        Line2D([], [], ls="", marker=MARKERS[m], color="grey", label=MODEL_NAMES[m]) for m in models
    ]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(plt.matplotlib.ticker.ScalarFormatter())
    ax.set_xlabel("ONNX window latency, ms (log scale)")
    ax.set_ylabel("test clip accuracy")
    ax.set_title("Distillation: accuracy vs latency")
    ax.grid(True, alpha=0.3)
    return _save(fig, out)


def student_size(points: list[SizePoint], out: Path, split: str) -> Path:
    """Test clip accuracy (mean ± std over seeds) against latency, one line per student kind."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for n, model in enumerate(dict.fromkeys(p.model for p in points)):
        line = sorted((p for p in points if p.model == model), key=lambda p: p.size)
        ax.errorbar(
            [p.latency_ms for p in line],
            [p.accuracy for p in line],
            yerr=[p.std for p in line],
            marker=MARKERS[model],
            capsize=3,
            label=MODEL_NAMES[model],
        )
        for p in line if n == 0 else ():  # each size named once, beside the first line
            ax.annotate(f"{p.size} px", (p.latency_ms, p.accuracy), fontsize=7,
                        xytext=(4, 4), textcoords="offset points")  # fmt: skip
    ax.set_xlabel("ONNX window latency, ms (one thread)")
    ax.set_ylabel("test clip accuracy")
    ax.set_title(f"Student input size: {split}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, out)


def unlabeled_amount(points: list[SharePoint], out: Path, split: str) -> Path:
    """Clip accuracy and fall AUC of the distilled student against the share of unlabelled
    video (mean ± std over seeds), the student without KD as a dashed line."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.4))
    line = sorted(points, key=lambda p: p.share)
    for ax, key, label in zip(axes, ("accuracy", "auc"), ("test clip accuracy", "fall AUC"),
                              strict=True):  # fmt: skip
        stats = [(p.share, getattr(p, key), getattr(p, f"scratch_{key}")) for p in line]
        shown = [(share, stat) for share, stat, _ in stats if stat[0] is not None]
        ax.errorbar([share for share, _ in shown], [stat[0] for _, stat in shown],
                    yerr=[stat[1] for _, stat in shown],
                    marker=MARKERS[ModelName.STUDENT_KD_UNLABELED],
                    capsize=3, label="KD + unlabelled (share 0: KD only)")  # fmt: skip
        scratch = [base[0] for _, _, base in stats if base[0] is not None]
        if scratch:
            ax.axhline(sum(scratch) / len(scratch), ls="--", color="grey", label="no KD")
        ax.set_xlabel("share of the held-out videos given unlabelled")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"Unlabelled video: {split}", fontsize=10)
    return _save(fig, out)


def alert_latency(falls: list[dict[str, Any]], out: Path) -> Path:
    """One dot per scripted fall (a row per video): scripted fall -> alert on the stream (s),
    edge detection -> alert on the stream (ms); a missed fall is marked, not dropped."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.0, 0.8 + 0.28 * len(falls)), sharey=True)
    rows = range(len(falls))
    panels = (
        (left, "fall_to_sse_s", "scripted fall -> alert on the stream, s"),
        (right, "edge_to_sse_ms", "edge detection -> alert on the stream, ms"),
    )
    for ax, key, label in panels:
        got = [(i, f[key]) for i, f in zip(rows, falls, strict=True) if f.get("streamed")]
        ax.scatter([v for _, v in got], [i for i, _ in got], color="#4c72b0", zorder=3)
        for i, f in zip(rows, falls, strict=True):
            if not f.get("streamed"):
                ax.annotate(
                    "missed",
                    (0, i),
                    xycoords=("axes fraction", "data"),
                    xytext=(4, -3),
                    textcoords="offset points",
                    fontsize=7,
                    color="#c44e52",
                )
        ax.set_xlabel(label)
        ax.grid(True, alpha=0.3)
        ax.margins(x=0.08, y=0.06)
        ax.set_xlim(left=0)
    left.set_yticks(list(rows), [f"seed {f['seed']}" for f in falls], fontsize=7)
    left.invert_yaxis()
    streamed = sum(bool(f.get("streamed")) for f in falls)
    fig.suptitle(f"Fall-alert latency: {streamed} alerts of {len(falls)} scripted falls")
    return _save(fig, out)


def soak(
    samples: list[dict[str, Any]],
    minutes: list[dict[str, Any]],
    stream: list[dict[str, Any]],
    out: Path,
) -> Path:
    """RSS of the service and the broker over time; ingest lag per minute (to `received_at`
    and, where measured, to the live stream)."""
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.0, 5.6), sharex=True)
    t = [s["t_s"] / 60 for s in samples]
    top.plot(t, [s["serve_rss_mb"] for s in samples], label="vigil serve (API + ingest)")
    top.plot(t, [s["broker_rss_mb"] for s in samples], label="mosquitto")
    top.set_ylabel("RSS, MB")
    top.legend(fontsize=8)
    top.grid(True, alpha=0.3)
    mid = [m["minute"] + 0.5 for m in minutes]
    for key in ("lag_ms_p50", "lag_ms_p95", "lag_ms_max"):
        bottom.plot(
            mid,
            [m[key] for m in minutes],
            marker="o",
            label=key.replace("lag_ms_", "") + " to received_at",
        )
    if stream:
        bottom.plot(
            [m["minute"] + 0.5 for m in stream],
            [m["p95"] for m in stream],
            marker="x",
            label="p95 to the live stream",
        )
    load = bottom.twinx()
    load.plot(t, [s["loadavg_1m"] for s in samples], "--", color="grey", linewidth=1)
    load.set_ylabel("load average, 1 min (dashed)", color="grey")
    bottom.set_yscale("log")
    bottom.set_ylabel("lag after publishing, ms")
    bottom.set_xlabel("minutes into the soak")
    bottom.legend(fontsize=8)
    bottom.grid(True, alpha=0.3)
    fig.suptitle("Soak: memory and ingest lag")
    return _save(fig, out)


def _save(fig: Any, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    # No timestamp in the file, so that an unchanged figure is an unchanged file.
    fig.savefig(out, dpi=110, metadata={"Software": None})
    _pyplot().close(fig)
    return out
