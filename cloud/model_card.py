"""A short markdown model card for one training run, rendered from its JSON report.

Takes the report as loaded JSON (so `Mapping[str, Any]`): a card can be rendered again
from any saved `report.json`. The shapes are those `cloud.pipeline` writes:

- report: one `cloud.metrics.report_entry(...)` per model, keyed by the names in
  `MODEL_ROWS` (absent ones are skipped), beside other keys (`exported`, `timing`, ...).
  A model's `kd` holds its distillation settings (`temperature`, `lam`, optional `sweep`).
- run_info (every key optional; a missing one reads "not recorded"): `data` (dataset
  path), `test_where`, `val_where` (split rules), `teacher_kind`, `student_input`
  (InputSpec fields), `labels`, `fall_labels` (else inferred from the names),
  `exported`, `teacher_gate` {teacher_better, teacher_val_f1, student_val_f1, message}.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.labels import is_fall_label

NOT_RECORDED = "not recorded"
MODEL_ROWS: tuple[str, ...] = ("teacher", "student_scratch", "student_kd", "student_int8")
TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("accuracy_clip", "clip accuracy"),
    ("macro_f1", "macro-F1"),
    ("fall_recall", "fall recall"),
    ("fall_precision", "fall precision"),
    ("params", "params"),
    ("ort_latency_ms", "ONNX latency (ms)"),
)


def format_cell(key: str, value: Any) -> str:
    """One table cell: ratios to 3 decimals, counts with separators, n/a for missing."""
    if value is None:
        return "n/a"
    if key == "params":
        return f"{int(value):,}"
    if key == "ort_latency_ms":
        return f"{float(value):.2f}"
    return f"{float(value):.3f}"


def model_entries(report: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The report's per-model entries, in table order."""
    return {name: report[name] for name in MODEL_ROWS if isinstance(report.get(name), Mapping)}


def metrics_table(models: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Markdown table rows: one per model, the headline columns."""
    header = "| model | " + " | ".join(title for _, title in TABLE_COLUMNS) + " |"
    rule = "|---|" + "---:|" * len(TABLE_COLUMNS)
    rows = [
        f"| {name} | " + " | ".join(format_cell(k, entry.get(k)) for k, _ in TABLE_COLUMNS) + " |"
        for name, entry in models.items()
    ]
    return [header, rule, *rows]


def describe_input(spec: Mapping[str, Any] | None) -> str:
    """`T x H x W frames (RGB) covering S s of video`, or not recorded."""
    if not spec:
        return NOT_RECORDED
    shape = f"{spec.get('frames')} x {spec.get('height')} x {spec.get('width')}"
    colour = spec.get("color_order", "RGB")
    return f"{shape} frames ({colour}) covering {spec.get('clip_seconds')} s of video"


def _model_section(run_info: Mapping[str, Any]) -> list[str]:
    labels: Sequence[str] = run_info.get("labels") or []
    falls = run_info.get("fall_labels") or [n for n in labels if is_fall_label(n)]
    return [
        "## Model",
        "",
        "A small video classifier (the student) for the edge device: one prediction per",
        "sliding window. A larger teacher guides its training (see Distillation).",
        "",
        f"- Shipped model: {run_info.get('exported', NOT_RECORDED)}.",
        f"- Input: {describe_input(run_info.get('student_input'))}.",
        f"- Labels ({len(labels)}): {', '.join(labels) or NOT_RECORDED}.",
        f"- Fall labels (collapsed into one alert): {', '.join(falls) or 'none'}.",
    ]


def _data_section(run_info: Mapping[str, Any]) -> list[str]:
    data = run_info.get("data")
    return [
        "## Training data",
        "",
        f"- Dataset: {f'`{data}`' if data else NOT_RECORDED}.",
        f"- Test split: {run_info.get('test_where') or NOT_RECORDED}.",
        f"- Validation split: {run_info.get('val_where') or NOT_RECORDED}.",
        f"- Teacher: {run_info.get('teacher_kind') or NOT_RECORDED}.",
    ]


def _results_section(models: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return [
        "## Results (test split)",
        "",
        *metrics_table(models),
        "",
        "Clip accuracy: argmax of the mean window logits per video. Fall recall and",
        "precision treat every fall label as one class; latency is one window on ONNX Runtime.",
    ]


def _kd_section(kd: Mapping[str, Any] | None) -> list[str]:
    if not kd:
        return ["## Distillation", "", "No distilled student in this run."]
    sweep = kd.get("sweep") or []
    chosen = f", chosen on validation from {len(sweep)} settings" if len(sweep) > 1 else ""
    return [
        "## Distillation",
        "",
        f"T = {kd.get('temperature', '?')}, lam = {kd.get('lam', '?')}{chosen}, in",
        "`lam * CE + (1 - lam) * T^2 * KL(teacher_T || student_T)` (Hinton et al., 2015).",
    ]


def _gate_section(gate: Mapping[str, Any] | None) -> list[str]:
    if not gate:
        return ["## Teacher quality gate", "", "Not run."]
    verdict = "passed" if gate.get("teacher_better") else "failed"
    teacher, student = gate.get("teacher_val_f1"), gate.get("student_val_f1")
    return [
        "## Teacher quality gate",
        "",
        f"- Outcome: **{verdict}** (teacher val macro-F1 {format_cell('f1', teacher)}, "
        f"student without KD {format_cell('f1', student)}).",
        f"- {gate.get('message', '')}",
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


def render_model_card(report: Mapping[str, Any], run_info: Mapping[str, Any]) -> str:
    """The model card for one run, as markdown."""
    models = model_entries(report)
    if not models:
        raise ValueError(f"report has none of the model entries {list(MODEL_ROWS)}")
    kd = models.get("student_kd", {}).get("kd")
    sections = [
        ["# Model card: Vigil student"],
        _model_section(run_info),
        _data_section(run_info),
        _results_section(models),
        _kd_section(kd),
        _gate_section(run_info.get("teacher_gate")),
        LIMITATIONS,
    ]
    return "\n\n".join("\n".join(lines) for lines in sections) + "\n"
