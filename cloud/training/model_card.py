"""A short markdown model card for one training run, rendered from its `RunReport`.

A card can be rendered again from any saved `report.json`
(`RunReport.model_validate_json`); what the report does not hold (the data folder, the
labels, the shipped student's input) is passed beside it. A report written before runs
recorded their settings reads "not recorded" for the splits.
"""

from __future__ import annotations

from collections.abc import Sequence

from cloud.training.report import INT8, KdSettings, RunReport, Scores, TeacherGate
from shared.labels import is_fall_label
from shared.preprocess import InputSpec

NOT_RECORDED = "not recorded"
TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("accuracy_clip", "clip accuracy"),
    ("macro_f1", "macro-F1"),
    ("fall_recall", "fall recall"),
    ("fall_precision", "fall precision"),
    ("params", "params"),
    ("ort_latency_ms", "ONNX latency (ms)"),
)


def format_cell(key: str, value: object) -> str:
    """One table cell: ratios to 3 decimals, counts with separators, n/a for missing."""
    if value is None:
        return "n/a"
    assert isinstance(value, int | float), value
    if key == "params":
        return f"{int(value):,}"
    if key == "ort_latency_ms":
        return f"{float(value):.2f}"
    return f"{float(value):.3f}"


def model_rows(report: RunReport) -> dict[str, Scores]:
    """The card's rows: every trained model (the shipped one among them), then int8."""
    rows: dict[str, Scores] = {name.value: entry for name, entry in report.models()}
    if report.student_int8 is not None:
        rows[INT8] = report.student_int8
    return rows


def metrics_table(rows: dict[str, Scores]) -> list[str]:
    """Markdown table rows: one per model, the headline columns."""
    header = "| model | " + " | ".join(title for _, title in TABLE_COLUMNS) + " |"
    rule = "|---|" + "---:|" * len(TABLE_COLUMNS)
    lines = [
        f"| {name} | "
        + " | ".join(format_cell(k, getattr(entry, k, None)) for k, _ in TABLE_COLUMNS)
        + " |"
        for name, entry in rows.items()
    ]
    return [header, rule, *lines]


def describe_input(spec: InputSpec) -> str:
    """`T x H x W frames (RGB) covering S s of video`."""
    shape = f"{spec.frames} x {spec.height} x {spec.width}"
    return f"{shape} frames ({spec.color_order}) covering {spec.clip_seconds} s of video"


def _model_section(report: RunReport, labels: Sequence[str], spec: InputSpec) -> list[str]:
    falls = [n for n in labels if is_fall_label(n)]
    return [
        "## Model",
        "",
        "A small video classifier (the student) for the edge device: one prediction per",
        "sliding window. A larger teacher guides its training (see Distillation).",
        "",
        f"- Shipped model: {report.exported}.",
        f"- Input: {describe_input(spec)}.",
        f"- Labels ({len(labels)}): {', '.join(labels) or NOT_RECORDED}.",
        f"- Fall labels (collapsed into one alert): {', '.join(falls) or 'none'}.",
    ]


def _data_section(report: RunReport, data: str) -> list[str]:
    params = report.params
    test = params.test_where if params else None
    val = params.val_where if params else None
    return [
        "## Training data",
        "",
        f"- Dataset: `{data}`.",
        f"- Test split: {test or NOT_RECORDED}.",
        f"- Validation split: {val or NOT_RECORDED}.",
        f"- Teacher: {report.teacher_kind}.",
    ]


def _results_section(rows: dict[str, Scores]) -> list[str]:
    return [
        "## Results (test split)",
        "",
        *metrics_table(rows),
        "",
        "Clip accuracy: argmax of the mean window logits per video. Fall recall and",
        "precision treat every fall label as one class; latency is one window on ONNX Runtime.",
    ]


def _kd_section(kd: KdSettings | None) -> list[str]:
    if kd is None:
        return ["## Distillation", "", "No distilled student in this run."]
    chosen = f", chosen on validation from {len(kd.sweep)} settings" if len(kd.sweep) > 1 else ""
    return [
        "## Distillation",
        "",
        f"T = {kd.temperature}, lam = {kd.lam}{chosen}, in",
        "`lam * CE + (1 - lam) * T^2 * KL(teacher_T || student_T)` (Hinton et al., 2015).",
    ]


def _gate_section(gate: TeacherGate) -> list[str]:
    verdict = "passed" if gate.teacher_better else "failed"
    return [
        "## Teacher quality gate",
        "",
        f"- Outcome: **{verdict}** (teacher val macro-F1 {format_cell('f1', gate.teacher_val_f1)}, "
        f"student without KD {format_cell('f1', gate.student_val_f1)}).",
        f"- {gate.message}",
    ]


LIMITATIONS = [
    "## Limitations",
    "",
    "- Trained on few people, rooms and cameras. Measure leave-one-person-out (and a",
    "  held-out camera) before trusting it on a new site; expect lower scores there.",
    "- Privacy: the student sees only downsampled frames (the input above), produced on",
    "  the device as each frame arrives; full-resolution video is used only by the",
    "  teacher during training.",
    "- Window scores are not event scores: the edge smooths predictions over time.",
]


def render_model_card(
    report: RunReport, data: str, labels: Sequence[str], student_input: InputSpec
) -> str:
    """The model card for one run, as markdown."""
    sections = [
        ["# Model card: Vigil student"],
        _model_section(report, labels, student_input),
        _data_section(report, data),
        _results_section(model_rows(report)),
        _kd_section(report.student_kd.kd),
        _gate_section(report.teacher_gate),
        LIMITATIONS,
    ]
    return "\n\n".join("\n".join(lines) for lines in sections) + "\n"
