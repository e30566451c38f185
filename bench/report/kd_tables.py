"""The tables of one kd result's split: a row per model, its goals, its seeds' timings."""

from __future__ import annotations

from bench.report.markdown import counted, mean_std, num, table, yes_no
from bench.report.results import Record, seed_list
from cloud.training.report import ModelName, RunReport

MODEL_NAMES = {
    ModelName.TEACHER: "teacher",
    ModelName.STUDENT_SCRATCH: "student, no KD",
    ModelName.STUDENT_KD: "student, KD",
    ModelName.STUDENT_KD_UNLABELED: "student, KD + unlabelled held-out video",
}
# result key -> column title, in table order
KD_COLUMNS = {
    "accuracy_clip": "clip acc",
    "accuracy_window": "window acc",
    "macro_f1": "macro-F1",
    "fall_recall": "fall recall",
    "fall_precision": "fall precision",
    "fall_auc_window": "fall AUC (window)",
}
GOAL_NAMES = {
    "kd_gain_clip_acc": "KD student >= 3 points clip accuracy over no-KD",
    "teacher_minus_kd_clip_acc": "KD student within 5 points of the teacher",
    "latency_ratio_student_over_teacher": "student latency <= 1/20 of the teacher's",
    "kd_time_over_scratch": "KD training time <= 1.5x no-KD",
    # the pose-teacher issue's goals (bench/kd_quality.py pose_goals)
    "teacher_fall_auc_window": "teacher fall AUC (window) >= 0.9",
    "student_kd_clip_acc_gain": "KD student >= 5 points clip accuracy over no-KD",
    "student_kd_fall_auc_gain": "KD student >= 0.05 fall AUC over no-KD",
    "student_kd_unlabeled_clip_acc_gain": "KD + unlabelled >= 5 points clip accuracy over no-KD",
    "student_kd_unlabeled_fall_auc_gain": "KD + unlabelled >= 0.05 fall AUC over no-KD",
}


def models_in(summary: Record) -> list[ModelName]:
    """The models this summary has (runs of some settings train no KD-on-unlabelled one)."""
    return [m for m in ModelName if m in summary]


def seed_reports(split: Record) -> list[RunReport]:
    """The run report of each seed of a split, as the pipeline wrote it."""
    return [RunReport.model_validate(seed["report"]) for seed in split["per_seed"]]


def swept(settings: Record) -> bool:
    """Whether a kd run swept (T, lam): `sweep` since the flags came from TrainingParams."""
    return bool(settings.get("sweep", not settings.get("no_sweep")))


def model_label(model: ModelName, summary: Record, swept: bool) -> str:
    if model == ModelName.TEACHER and summary.get("teacher_kind"):
        return f"teacher ({summary['teacher_kind']})"
    chosen = summary.get("chosen_kd") or []
    # One (T, lam) per seed; each pair said once (the sweep may pick different ones).
    kd = "; ".join(dict.fromkeys(f"T={c['temperature']:g}, lam={c['lam']:g}" for c in chosen))
    if model == ModelName.STUDENT_KD and kd:
        return f"student, KD ({kd}{' by sweep' if swept else ', no sweep'})"
    return MODEL_NAMES[model]


def kd_split_table(split: Record, settings: Record) -> str:
    summary = split["summary"]
    header = ["model", *KD_COLUMNS.values(), "params", "MACs"]
    rows = [model_row(model, summary, swept(settings)) for model in models_in(summary)]
    return table(header, rows)


def model_row(model: ModelName, summary: Record, swept: bool) -> list[str]:
    s = summary[model]
    macs = s.get("macs", {}).get("mean")
    return [
        model_label(model, summary, swept),
        *[mean_std(s.get(c, {})) for c in KD_COLUMNS],
        num(s.get("params", {}).get("mean")),
        f"{macs / 1e6:,.1f} M" if macs else "-",
    ]


def kd_goals_table(summary: Record, edge: Record | None) -> str:
    rows = []
    for key, goal in summary["goals"].items():
        measured = goal_value(key, goal["value"])
        if key == "latency_ratio_student_over_teacher" and edge is not None:
            ratio = edge["student_latency_ms_p50"] / edge["teacher_latency_ms_p50"]
            threads = counted(edge["settings"]["onnxruntime_threads"], "thread")
            measured += f"; {ratio:.3f} on the edge_throughput machine ({threads}, p50)"
        rows.append([GOAL_NAMES.get(key, key), measured, yes_no(goal["met"])])
    return table(["goal", "measured", "met"], rows, "lll")


def goal_value(key: str, value: float | None) -> str:
    if value is None:
        return "-"
    if key == "kd_gain_clip_acc" or key.endswith("_clip_acc_gain"):
        return f"{value * 100:+.1f} points"
    if key == "teacher_minus_kd_clip_acc":
        return f"{value * 100:.1f} points below" if value > 0 else f"{abs(value) * 100:.1f} above"
    if key == "kd_time_over_scratch":
        return f"{value:.2f}x"
    return f"{value:.3f}"


def seeds_status(record: Record, split: Record) -> str:
    planned = record.get("settings", {}).get("seeds", [])
    done = [s["seed"] for s in split["per_seed"]]
    missing = [s for s in planned if s not in done]
    if not missing:
        return seed_list(done)
    return f"{seed_list(done)} only ({seed_list(missing)} did not finish)"


def kd_timing(split: Record) -> str:
    """Each seed's KD/no-KD training time, '' where the reports do not hold it."""
    timing = [report.timing for report in seed_reports(split)]
    if any(None in (t.kd_over_scratch, t.student_kd_s, t.student_scratch_s) for t in timing):
        return ""
    return "; ".join(
        f"{t.kd_over_scratch:.2f}x ({t.student_kd_s:.1f} s vs {t.student_scratch_s:.1f} s)"
        for t in timing
    )
