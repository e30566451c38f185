"""The UP-Fall distillation run that did not finish: what it left in kd_h100_partial/."""

from __future__ import annotations

from bench.report.kd_tables import KD_COLUMNS, MODEL_NAMES
from bench.report.markdown import fill, num, table
from bench.report.results import Record, Results, not_run
from cloud.training.report import ModelName

PARTIAL = "kd_h100_partial"
UPFALL_SPLITS = {"trial": "trials 1-2 -> trial 3", "camera": "camera 1 -> camera 2"}
UPFALL_LOGS = {"trial": "upfall-trials_1_2_to_3-seed0", "camera": "upfall-camera_1_to_2-seed0"}
EVALUATED = (ModelName.TEACHER, ModelName.STUDENT_SCRATCH)
Evals = dict[tuple[str, ModelName], Record | None]


def kd_upfall_section(results: Results) -> str:
    """The full UP-Fall result is among the other kd results; until then, the partial run."""
    if results.get("kd_upfall.json") is not None:
        return ""
    evals: Evals = {
        (split, model): results.get(f"{PARTIAL}/eval_{split}_{model}.json")
        for split in UPFALL_SPLITS
        for model in EVALUATED
    }
    if not any(evals.values()):
        return "### UP-Fall subject 1\n\n" + not_run(
            "kd_upfall.json", "VIGIL_DATA_ROOT=... python -m bench.kd_quality --dataset upfall"
        )
    best = sweep_logs(results)
    return fill(
        "kd_partial.md",
        table=evals_table(evals),
        sweep=upfall_sweep(best),
        reading=upfall_reading(evals, best.get("camera", {})),
    )


def evals_table(evals: Evals) -> str:
    header = ["split", "model", *KD_COLUMNS.values()]
    rows = [
        [UPFALL_SPLITS[split], MODEL_NAMES[model], *[num(r.get(c), 3) for c in KD_COLUMNS]]
        for (split, model), r in evals.items()
        if r is not None
    ]
    return table(header, rows, "llrrrrrr")


def best_val_f1(log: list[Record]) -> dict[str, float]:
    """Each model's best validation macro-F1 in a training log (KD runs named by (T, lam))."""
    best: dict[str, float] = {}
    for row in log:
        if row.get("val_macro_f1") is not None:
            best[row["model"]] = max(best.get(row["model"], 0.0), row["val_macro_f1"])
    return best


def sweep_logs(results: Results) -> dict[str, dict[str, float]]:
    logs = {s: results.lines(f"{PARTIAL}/{UPFALL_LOGS[s]}.train_log.jsonl") for s in UPFALL_SPLITS}
    return {s: best_val_f1(log) for s, log in logs.items() if log}


def upfall_sweep(best: dict[str, dict[str, float]]) -> str:
    if not best:
        return ""
    runs = sorted({m for b in best.values() for m in b if m.startswith(ModelName.STUDENT_KD)})
    header = ["split", *[r.removeprefix(f"{ModelName.STUDENT_KD}(").rstrip(")") for r in runs]]
    rows = [[UPFALL_SPLITS[s], *[num(b.get(r), 3) for r in runs]] for s, b in best.items()]
    scratch = ", ".join(
        f"{num(b.get(ModelName.STUDENT_SCRATCH), 3)} on {UPFALL_SPLITS[s]}" for s, b in best.items()
    )
    return fill("kd_partial_sweep.md", scratch=scratch, table=table(header, rows))


def upfall_reading(evals: Evals, camera_val: dict[str, float]) -> str:
    """Teacher against student on the trial split; the teacher against chance across cameras."""
    trial_t = evals[("trial", ModelName.TEACHER)]
    trial_s = evals[("trial", ModelName.STUDENT_SCRATCH)]
    camera_t = evals[("camera", ModelName.TEACHER)]
    if not (trial_t and trial_s and camera_t):
        return ""
    teacher, student = trial_t["accuracy_clip"], trial_s["accuracy_clip"]
    across, classes = camera_t["accuracy_clip"], len(camera_t["per_class_recall"])
    return (
        f"Reading: on the trial split the teacher's clip accuracy is {teacher:.0%}, "
        f"{gap_text(teacher, student)} the student's without KD ({student:.0%}); across "
        f"cameras it is {across:.0%}, {gap_text(across, 1 / classes)} chance "
        f"({1 / classes:.0%}, 1 of {classes} classes)."
        + validation_text(camera_t, camera_val.get(ModelName.TEACHER))
    )


def gap_text(value: float, other: float) -> str:
    """'23 points above', '3 points below' or 'level with': two accuracies' gap, its sign read."""
    gap = round((value - other) * 100)
    if gap == 0:
        return "level with"
    return f"{abs(gap)} points {'above' if gap > 0 else 'below'}"


def validation_text(camera_teacher: Record, best_val: float | None) -> str:
    """The camera split validates on clips of the training camera: its score beside the test's."""
    if best_val is None:
        return ""
    return (
        " The camera split's validation clips come from camera 1 (carved out of the training "
        f"camera): the teacher's best validation macro-F1 there was {best_val:.3f}, its "
        f"macro-F1 on the test camera {camera_teacher['macro_f1']:.3f}."
    )
