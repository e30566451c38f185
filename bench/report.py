"""Render docs/BENCHMARKS.md (and its PNG figures) from bench/results/*.json.

    python bench/report.py                 # -> docs/BENCHMARKS.md, docs/img/*.png

Every figure in the document comes from a result JSON: a section whose JSON is absent
says "not run" and names the command that writes it. The prose around the tables lives
here, beside the numbers it reads.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import report_plots  # noqa: E402
from bench.common import REPO, RESULTS  # noqa: E402

Record = dict[str, Any]
DOC = REPO / "docs" / "BENCHMARKS.md"
MODELS = ("teacher", "student_scratch", "student_kd", "student_kd_unlabeled")
MODEL_NAMES = {
    "teacher": "teacher",
    "student_scratch": "student, no KD",
    "student_kd": "student, KD",
    "student_kd_unlabeled": "student, KD + unlabelled held-out video",
}

# -- loading and formatting ----------------------------------------------------------------


@dataclass
class Results:
    """The result JSONs of one folder, read once; `get` is None for one that is absent."""

    root: Path

    def get(self, name: str) -> Record | None:
        path = self.root / name
        return json.loads(path.read_text()) if path.exists() else None

    def lines(self, name: str) -> list[Record] | None:
        path = self.root / name
        if not path.exists():
            return None
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def num(value: Any, digits: int = 1) -> str:
    """A number for a table: thousands separated, `digits` decimals; '-' for none."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1000:
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], align: str = "") -> str:
    """A Markdown table; `align` holds one of 'l'/'r' per column (default: l, then r)."""
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---" if a == "l" else "---:" for a in align]
    lines = [header, rule, *[[str(c) for c in row] for row in rows]]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def yes_no(met: bool | None) -> str:
    return "-" if met is None else ("yes" if met else "no")


def provenance(record: Record, name: str) -> str:
    """Command, machine and time of one result, as each section states them."""
    m = record.get("machine", {})
    parts = [f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores", f"Python {m.get('python', '?')}"]
    parts += [f"{k} {m[k]}" for k in ("torch", "onnxruntime", "cv2") if k in m]
    if "gpu" in m:
        parts.insert(0, m["gpu"])
    load = (
        f"; load average {', '.join(map(str, m['loadavg']))} when written" if "loadavg" in m else ""
    )
    commit = (record.get("commit") or "?")[:10]
    sources = record.get("sources")
    if sources:  # seeds or splits run as separate processes, then merged
        runs = "; ".join(
            f"`{s.get('command', '?')}` ({s.get('finished_at', '?')}, commit "
            f"{(s.get('commit') or '?')[:10]}; {source_seeds(s)})"
            + (f" [{s['commit_note']}]" if s.get("commit_note") else "")
            for s in sources
        )
        return (
            f"Merged from {len(sources)} runs: {runs}. Machine: {'; '.join(parts)}{load}. "
            f"JSON: `bench/results/{name}`."
        )
    return (
        f"Command: `{record.get('command', '?')}`. Machine: {'; '.join(parts)}{load}. "
        f"JSON: `bench/results/{name}` ({record.get('finished_at', '?')}, commit {commit})."
    )


def source_seeds(source: Record) -> str:
    seeds = sorted({seed for done in source.get("seeds", {}).values() for seed in done})
    return seed_list(seeds) if seeds else "no seeds"


def not_run(name: str, command: str) -> str:
    return f"**Not run**: `bench/results/{name}` is absent. `{command}` writes it."


@dataclass(frozen=True)
class Section:
    """A part of the document drawn from one result JSON (`body` gets it and the PNG folder)."""

    title: str
    result: str
    command: str
    body: Callable[[Record, Path], str]

    def render(self, results: Results, img: Path) -> str:
        head = f"## {self.title}\n\n"
        record = results.get(self.result)
        if record is None:
            return head + not_run(self.result, self.command)
        return head + provenance(record, self.result) + "\n\n" + self.body(record, img)


# -- distillation --------------------------------------------------------------------------

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


def model_label(model: str, summary: Record, swept: bool) -> str:
    if model == "teacher" and summary.get("teacher_kind"):
        return f"teacher ({summary['teacher_kind']})"
    chosen = summary.get("chosen_kd") or []
    # One (T, lam) per seed; each pair said once (the sweep may pick different ones).
    kd = "; ".join(dict.fromkeys(f"T={c['temperature']:g}, lam={c['lam']:g}" for c in chosen))
    if model == "student_kd" and kd:
        return f"student, KD ({kd}{' by sweep' if swept else ', no sweep'})"
    return MODEL_NAMES[model]


def models_in(summary: Record) -> list[str]:
    """The models this summary has (runs of some settings train no KD-on-unlabelled one)."""
    return [m for m in MODELS if m in summary]


def kd_split_table(split: Record, settings: Record) -> str:
    summary = split["summary"]
    header = ["model", *KD_COLUMNS.values(), "params", "MACs"]
    rows = []
    for model in models_in(summary):
        s = summary[model]
        cells = [_mean(s.get(c, {})) for c in KD_COLUMNS]
        macs = s.get("macs", {}).get("mean")
        rows.append(
            [
                model_label(model, summary, swept(settings)),
                *cells,
                num(s.get("params", {}).get("mean")),
                f"{macs / 1e6:,.1f} M" if macs else "-",
            ]
        )
    return table(header, rows)


def swept(settings: Record) -> bool:
    """Whether a kd run swept (T, lam): `sweep` since the flags came from TrainingParams."""
    return bool(settings.get("sweep", not settings.get("no_sweep")))


def _mean(stat: Record, digits: int = 3) -> str:
    if stat.get("mean") is None:
        return "-"
    text = f"{stat['mean']:.{digits}f}"
    return text + (f" ± {stat['std']:.{digits}f}" if stat.get("std") else "")


def kd_goals_table(summary: Record, edge: Record | None) -> str:
    rows = []
    for key, goal in summary["goals"].items():
        value = goal["value"]
        measured = _goal_value(key, value, summary)
        if key == "latency_ratio_student_over_teacher" and edge is not None:
            ratio = edge["student_latency_ms_p50"] / edge["teacher_latency_ms_p50"]
            measured += f"; {ratio:.3f} on the edge_throughput machine (one thread, p50)"
        rows.append([GOAL_NAMES.get(key, key), measured, yes_no(goal["met"])])
    return table(["goal", "measured", "met"], rows, "lll")


def _goal_value(key: str, value: float | None, summary: Record) -> str:
    if value is None:
        return "-"
    if key == "kd_gain_clip_acc" or key.endswith("_clip_acc_gain"):
        return f"{value * 100:+.1f} points"
    if key == "teacher_minus_kd_clip_acc":
        return f"{value * 100:.1f} points below" if value > 0 else f"{-value * 100:.1f} above"
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


def seed_list(seeds: list[int]) -> str:
    return ("seeds " if len(seeds) > 1 else "seed ") + ", ".join(map(str, seeds))


def kd_timing(split: Record) -> str:
    timing = [s["report"]["timing"] for s in split["per_seed"]]
    return "; ".join(
        f"{t['kd_over_scratch']:.2f}x ({t['student_kd_s']:.1f} s vs {t['student_scratch_s']:.1f} s)"
        for t in timing
    )


KD_SYNTHETIC = {
    "kd_synthetic.json": ("Synthetic scenes", "python bench/kd_quality.py --dataset synthetic"),
    "kd_synthetic_quick.json": (
        "Synthetic scenes, quick CPU setting (a check that the pipeline runs end to end, "
        "not a quality figure)",
        "bench/run_all.sh --kd quick",
    ),
}


def kd_synthetic_section(results: Results) -> str:
    """The full result (or 'not run'), then the quick CPU check where it ran."""
    return "\n\n".join(
        kd_synthetic_file(results, name, title, command)
        for name, (title, command) in KD_SYNTHETIC.items()
        if name == "kd_synthetic.json" or results.get(name) is not None
    )


def kd_synthetic_file(results: Results, name: str, title: str, command: str) -> str:
    record = results.get(name)
    if record is None:
        return f"### {title}\n\n" + not_run(name, command)
    out = []
    s = record["settings"]
    for split_name, split in record["splits"].items():
        summary = split["summary"]
        reading = kd_synthetic_reading(summary) if name == "kd_synthetic.json" else ""
        out.append(
            f"### {title}\n\n{s.get('clips_per_class')} clips per class; test "
            f"`{split['test_where']}`, validation `{split['val_where']}`. "
            f"{provenance(record, name)} Split `{split_name}`, "
            f"{seeds_status(record, split)}; mean ± std over seeds where more than one.\n\n"
            f"{kd_split_table(split, s)}\n\n"
            f"Goals of the distillation issue, against these seeds:\n\n"
            f"{kd_goals_table(summary, results.get('edge_throughput.json'))}\n\n"
            f"KD training time over no-KD per seed: {kd_timing(split)}, the teacher's logits "
            f"for 2 augmentation draws per window included." + ("\n\n" + reading if reading else "")
        )
    return "\n\n".join(out)


def gate_text(summary: Record) -> str:
    if all(summary.get("teacher_better_on_val") or [False]):
        return (
            "The teacher is better than the student on validation (the gate passes), but with "
            "this few training clips per class its soft labels add little."
        )
    return "The teacher was not better than the student on validation in every seed."


def kd_synthetic_reading(summary: Record) -> str:
    acc = {m: summary[m]["accuracy_clip"]["mean"] for m in models_in(summary)}
    students = (acc["student_scratch"] + acc["student_kd"]) / 2
    return (
        f"Reading: the synthetic scenes are hard by design (a small person in random rooms, "
        f"furniture, distractors); the teacher reaches {acc['teacher']:.0%} clip accuracy and "
        f"the 32 px students about {students:.0%}. {gate_text(summary)} "
        f"More data looked more useful to the student than KD in an ad-hoc run "
        f"(`vigil train student --no-kd` on more clips per class); a benchmark of the student "
        f"against the amount of data is still to be written.\n\n"
        f"The KD/no-KD time ratio counts the teacher's logits bank: the teacher runs once per "
        f"(window, augmentation draw), 2 draws per window, and each student epoch reuses them. "
        f"On a GPU the student's own epochs are so cheap that the bank (on the CPU-bound data "
        f"path) dominates; on a CPU student training dominates and the ratio is lower."
    )


UPFALL_SPLITS = {"trial": "trials 1-2 -> trial 3", "camera": "camera 1 -> camera 2"}
UPFALL_LOGS = {"trial": "upfall-trials_1_2_to_3-seed0", "camera": "upfall-camera_1_to_2-seed0"}


def kd_other_sections(results: Results) -> str:
    """Every other kd_*.json (UP-Fall, fall vs not-fall, pose teacher...), split by split.

    The other-size runs (`kd_X_s48.json`) are the student-size section's, the runs with
    less unlabelled video (`kd_X_u25.json`) the unlabelled-amount section's.
    """
    names = sorted(p.name for p in results.root.glob("kd_*.json") if not is_variant(p))
    return "\n\n".join(kd_file_splits(results, name) for name in names if name not in KD_SYNTHETIC)


def is_variant(path: Path) -> bool:
    """A twin of another kd result with one setting changed, shown in a section of its own."""
    return any(v(path) is not None for v in (size_variant, fraction_variant, crop_variant))


def crop_variant(path: Path) -> tuple[str, str] | None:
    """`kd_X_crop.json` -> ("kd_X.json", "motion"): X with the student on the motion crop."""
    match = re.fullmatch(r"(kd_.+)_crop", path.stem)
    return (f"{match.group(1)}.json", "motion") if match else None


CROP_MODELS = ("student_scratch", "student_kd", "student_kd_unlabeled")


def motion_crop_section(results: Results) -> str:
    """Each kd result beside its twin whose student saw the motion crop, split by split."""
    head = "## Motion crop\n\n"
    found = families(results, Variation("kd_*_crop.json", crop_variant, "student_crop", "none"))
    if not found:
        return head + not_run(
            "kd_upfall_pose_crop.json",
            "python bench/kd_quality.py --dataset upfall --teacher pose --unlabeled-heldout "
            "--student-crop motion --out bench/results/kd_upfall_pose_crop.json",
        )
    parts = []
    for base, family in found.items():
        (_, whole), (_, cropped) = family["none"], family["motion"]
        splits = sorted(set(whole["splits"]) & set(cropped["splits"]))
        rows = [crop_row(split, model, whole, cropped) for split in splits for model in CROP_MODELS]
        if len(splits) > 1:
            rows += [crop_row(splits, model, whole, cropped) for model in CROP_MODELS]
        header = ["split", "student", "clip acc, whole frame", "clip acc, crop",
                  "fall AUC, whole frame", "fall AUC, crop"]  # fmt: skip
        parts.append(
            f"### `{base}` and its twin on the crop\n\n"
            + " ".join(provenance(record, name) for name, record in family.values())
            + f"\n\n{table(header, rows)}\n\n{crop_reading(whole, cropped, splits)}"
        )
    return head + crop_cost(results) + (
        "The same runs with the student's frames cut to a box around what moves before "
        "downsampling (`--student-crop motion`, `shared.motion_crop`; the edge cuts the same "
        "box from the model's metadata). Teachers see the whole frame either way. Each cell is "
        "the mean over seeds; the last rows average the splits.\n\n" + "\n\n".join(parts)
    )


def crop_reading(whole: Record, cropped: Record, splits: list[str]) -> str:
    """How often the crop raised a student's fall AUC, and whether the teachers matched."""
    up = down = 0
    for split in splits:
        for model in CROP_MODELS:
            a, b = (r["splits"][split]["summary"].get(model, {}).get("fall_auc_window", {})
                    for r in (whole, cropped))  # fmt: skip
            if a.get("mean") is None or b.get("mean") is None:
                continue
            up += b["mean"] > a["mean"]
            down += b["mean"] < a["mean"]

    def teachers(record: Record) -> list[Any]:
        return [
            (s["seed"], s.get("report", {}).get("teacher", {}).get("fall_auc_window"))
            for split in splits
            for s in record["splits"][split]["per_seed"]
        ]

    same = teachers(whole) == teachers(cropped)
    return (
        f"Reading: the crop raised the mean fall AUC in {up} of {up + down} (split, student) "
        f"cells and lowered it in {down}. "
        + ("The teachers of both runs are the same, seed by seed (same fall AUC)."
           if same else "The teachers of the two runs differ: compare with care.")  # fmt: skip
    )


def crop_cost(results: Results) -> str:
    """What the crop costs a device per frame (bench/motion_crop_cost.py), when measured."""
    record = results.get("motion_crop_cost.json")
    if record is None:
        return not_run("motion_crop_cost.json", "python bench/motion_crop_cost.py") + "\n\n"
    cost, video = record["per_frame_us"], record["video"]
    return (
        f"On a device, turning a {video['size'][0]}x{video['size'][1]} frame into the "
        f"student's input takes {cost['whole_frame']:.0f} µs for the whole frame and "
        f"{cost['motion_crop']:.0f} µs with the crop ({record['crop_over_whole']:.2f}x; "
        f"median over {video['frames']} real frames, OpenCV on one thread). "
        + provenance(record, "motion_crop_cost.json")
        + "\n\n"
    )


def crop_row(split: str | list[str], model: str, whole: Record, cropped: Record) -> list[str]:
    splits = [split] if isinstance(split, str) else split

    def mean(record: Record, metric: str) -> str:
        value = over_splits(record, splits, model, metric)
        return "" if value is None else num(value, 3)

    name = f"`{split}`" if isinstance(split, str) else f"mean of {len(splits)}"
    return [name, MODEL_NAMES[model], mean(whole, "accuracy_clip"), mean(cropped, "accuracy_clip"),
            mean(whole, "fall_auc_window"), mean(cropped, "fall_auc_window")]  # fmt: skip


def size_variant(path: Path) -> tuple[str, int] | None:
    """`kd_X_s48.json` -> ("kd_X.json", 48): a run of X with another student input size."""
    match = re.fullmatch(r"(kd_.+)_s(\d+)", path.stem)
    return (f"{match.group(1)}.json", int(match.group(2))) if match else None


SIZE_MODELS = ("student_scratch", "student_kd", "student_kd_unlabeled")
Family = dict[Any, tuple[str, Record]]  # the varied setting's value -> (JSON name, record)


@dataclass(frozen=True)
class Variation:
    """One setting varied over twins of a kd result: `kd_X_<letter><number>.json`."""

    pattern: str  # glob of the twins
    parse: Callable[[Path], tuple[str, Any] | None]  # twin -> (base JSON name, value)
    setting: str  # the base's value of it, in its settings
    default: Any


def families(results: Results, variation: Variation) -> dict[str, Family]:
    """Each kd result that has twins of this variation, with them, keyed by its JSON name."""
    found: dict[str, Family] = {}
    for path in sorted(results.root.glob(variation.pattern)):
        variant = variation.parse(path)
        base = results.get(variant[0]) if variant else None
        if variant is None or base is None:
            continue
        family = found.setdefault(variant[0], {})
        value = base.get("settings", {}).get(variation.setting, variation.default)
        family[type(variation.default)(value)] = (variant[0], base)
        family[variant[1]] = (path.name, results.get(path.name) or {})
    return found


def size_families(results: Results) -> dict[str, Family]:
    """Each kd result that has other-size twins, with them, keyed by its JSON name."""
    return families(results, Variation("kd_*_s*.json", size_variant, "student_size", 32))


def student_size_section(results: Results, img: Path) -> str:
    """Accuracy against latency for each student input size: a table and a plot per split."""
    head = "## Student input size\n\n"
    families = size_families(results)
    if not families:
        return head + not_run(
            "kd_upfall_pose_s48.json",
            "python bench/kd_quality.py --dataset upfall --teacher pose --student-size 48 "
            "--out bench/results/kd_upfall_pose_s48.json",
        )
    parts = [
        size_split(base, family, split, img)
        for base, family in families.items()
        for split in sorted(set.intersection(*(set(r["splits"]) for _, r in family.values())))
    ]
    return head + (
        "The same runs with the student's frames at other sizes (`--student-size`); "
        "latency is onnxruntime, batch 1, one thread, median.\n\n" + "\n\n".join(parts)
    )


def size_split(base: str, family: Family, split: str, img: Path) -> str:
    rows, points = [], []
    for size, (name, record) in sorted(family.items()):
        summary = record["splits"][split]["summary"]
        rows.append(size_row(size, name, summary))
        points += [size_point(size, model, summary[model]) for model in models_in(summary)
                   if model in SIZE_MODELS]  # fmt: skip
    plot = report_plots.student_size(points, img / f"size_{Path(base).stem}_{split}.png", split)
    header = ["input", "JSON", "params", "MACs", "ms/window",
              *(f"clip acc, {MODEL_NAMES[m]}" for m in SIZE_MODELS),
              "fall AUC, no KD", "fall AUC, KD"]  # fmt: skip
    return family_table(f"`{base}` and its other sizes, split `{split}`", family, header, rows,
                        plot, "student input size")  # fmt: skip


def family_table(
    title: str, family: Family, header: list[str], rows: list[list[str]], plot: Path, alt: str
) -> str:
    """A kd result with its twins: where each came from, the table, then the plot."""
    return (
        f"### {title}\n\n"
        + " ".join(provenance(record, name) for name, record in family.values())
        + f"\n\n{table(header, rows)}\n\n![{alt}](img/{plot.name})"
    )


def size_row(size: int, name: str, summary: Record) -> list[str]:
    base = summary["student_scratch"]
    return [
        f"{size} px",
        f"`{name}`",
        num(base["params"]["mean"]),
        f"{base['macs']['mean'] / 1e6:,.1f} M",
        f"{base['ort_latency_ms']['mean']:.2f}",
        *(_mean(summary.get(m, {}).get("accuracy_clip", {})) for m in SIZE_MODELS),
        *(_mean(summary.get(m, {}).get("fall_auc_window", {})) for m in SIZE_MODELS[:2]),
    ]


def size_point(size: int, model: str, stat: Record) -> Record:
    accuracy = stat["accuracy_clip"]
    return {
        "size": size,
        "model": model,
        "latency_ms": stat["ort_latency_ms"]["mean"],
        "accuracy": accuracy["mean"],
        "std": accuracy.get("std") or 0.0,
    }


def fraction_variant(path: Path) -> tuple[str, float] | None:
    """`kd_X_u25.json` -> ("kd_X.json", 0.25): X with a quarter of the unlabelled video."""
    match = re.fullmatch(r"(kd_.+)_u(\d+)", path.stem)
    return (f"{match.group(1)}.json", int(match.group(2)) / 100) if match else None


def unlabeled_amount_section(results: Results, img: Path) -> str:
    """KD + unlabelled against the share of held-out video given: a table and plot per split."""
    head = "## Amount of unlabelled video\n\n"
    shares = families(
        results, Variation("kd_*_u*.json", fraction_variant, "unlabeled_fraction", 1.0)
    )
    if not shares:
        return head + not_run(
            "kd_fall_pose_loso_u25.json",
            "python bench/kd_quality.py --dataset fall --teacher pose --unlabeled-heldout "
            "--unlabeled-fraction 0.25 --out bench/results/kd_fall_pose_loso_u25.json",
        )
    parts = []
    for base, family in shares.items():
        splits = sorted(set.intersection(*(set(r["splits"]) for _, r in family.values())))
        if len(splits) > 1:
            parts.append(amount_means(base, family, splits))
        parts += [amount_split(base, family, split, img) for split in splits]
    return head + (
        "The same runs with a share of the held-out split's videos given, unlabelled, to "
        "distillation (`--unlabeled-fraction`; a smaller share is a subset of a larger one, "
        "drawn by the seed). Share 0 is the KD student without unlabelled video; the student "
        "without KD is the same run's baseline.\n\n" + "\n\n".join(parts)
    )


def over_splits(record: Record, splits: list[str], model: str, metric: str) -> float | None:
    """A model's metric averaged over splits, each split's own mean over seeds (None: absent)."""
    values = [
        record["splits"][s]["summary"].get(model, {}).get(metric, {}).get("mean") for s in splits
    ]
    return None if None in values else sum(values) / len(values)


def amount_means(base: str, family: Family, splits: list[str]) -> str:
    """Each share's mean over the splits (each split's own mean over seeds), gains over no KD."""

    first = family[min(family)][1]
    base_acc = over_splits(first, splits, "student_scratch", "accuracy_clip")
    base_auc = over_splits(first, splits, "student_scratch", "fall_auc_window")
    rows = [["no KD", num(base_acc, 3), num(base_auc, 3), "", ""]]
    shares = [(0.0, first, "student_kd")]
    shares += [(share, rec, "student_kd_unlabeled") for share, (_, rec) in sorted(family.items())]
    for share, record, model in shares:
        acc = over_splits(record, splits, model, "accuracy_clip")
        auc = over_splits(record, splits, model, "fall_auc_window")
        rows.append([
            "0 (KD only)" if share == 0 else f"{share:.0%}",
            num(acc, 3),
            num(auc, 3),
            "" if acc is None or base_acc is None else f"{(acc - base_acc) * 100:+.1f} points",
            "" if auc is None or base_auc is None else f"{auc - base_auc:+.3f}",
        ])  # fmt: skip
    header = ["share of held-out video", "clip acc", "fall AUC", "clip acc over no KD",
              "fall AUC over no KD"]  # fmt: skip
    return (
        f"### `{base}` and its shares, mean over {len(splits)} splits "
        f"({', '.join(f'`{s}`' for s in splits)})\n\n{table(header, rows)}"
    )


def amount_split(base: str, family: Family, split: str, img: Path) -> str:
    points, rows = [], []
    first = family[min(family)][1]["splits"][split]["summary"]
    rows.append(amount_row("0 (KD only)", "", "", first["student_kd"], first["student_scratch"]))
    points.append(amount_point(0.0, first["student_kd"], first["student_scratch"]))
    for share, (name, record) in sorted(family.items()):
        entry = record["splits"][split]
        summary = entry["summary"]
        videos = [s["report"].get("unlabeled_videos") for s in entry["per_seed"]]
        count = num(sum(videos) / len(videos)) if None not in videos else (
            "all" if share == 1.0 else "?")  # fmt: skip
        model, scratch = summary["student_kd_unlabeled"], summary["student_scratch"]
        rows.append(amount_row(f"{share:.0%}", count, f"`{name}`", model, scratch))
        points.append(amount_point(share, model, scratch))
    plot = report_plots.unlabeled_amount(points, img / f"unlabeled_{Path(base).stem}_{split}.png",
                                         split)  # fmt: skip
    header = ["share of held-out video", "videos (mean)", "JSON", "clip acc", "fall AUC",
              "no KD: clip acc", "no KD: fall AUC"]  # fmt: skip
    return family_table(f"`{base}` and its shares, split `{split}`", family, header, rows, plot,
                        "unlabelled video")  # fmt: skip


def amount_row(share: str, videos: str, name: str, model: Record, scratch: Record) -> list[str]:
    return [
        share,
        videos,
        name,
        _mean(model.get("accuracy_clip", {})),
        _mean(model.get("fall_auc_window", {})),
        _mean(scratch.get("accuracy_clip", {})),
        _mean(scratch.get("fall_auc_window", {})),
    ]


def amount_point(share: float, model: Record, scratch: Record) -> Record:
    def stat(entry: Record, metric: str) -> tuple[float | None, float]:
        value = entry.get(metric, {})
        return value.get("mean"), value.get("std") or 0.0

    return {
        "share": share,
        "accuracy": stat(model, "accuracy_clip"),
        "auc": stat(model, "fall_auc_window"),
        "scratch_accuracy": stat(scratch, "accuracy_clip"),
        "scratch_auc": stat(scratch, "fall_auc_window"),
    }


def kd_file_splits(results: Results, name: str) -> str:
    record = results.get(name) or {}
    return "\n\n".join(
        f"### `{name}`, split `{split_name}`\n\ntest `{split['test_where']}`, validation "
        f"`{split['val_where']}`. {provenance(record, name)} {seeds_status(record, split)}."
        f"\n\n{kd_split_table(split, record.get('settings', {}))}\n\n"
        f"{kd_goals_table(split['summary'], None)}{seed_timing(split)}"
        for split_name, split in record.get("splits", {}).items()
    )


def seed_timing(split: Record) -> str:
    """Each seed's KD/no-KD time, so that one seed slowed by other work shows as such."""
    if not all("timing" in s.get("report", {}) for s in split["per_seed"]):
        return ""
    return f"\n\nKD training time over no-KD per seed: {kd_timing(split)}."


def kd_upfall_section(results: Results) -> str:
    """The full UP-Fall result is among kd_other_sections; until then, the partial run."""
    if results.get("kd_upfall.json") is not None:
        return ""
    partial = upfall_partial(results)
    if partial is None:
        return "### UP-Fall subject 1\n\n" + not_run(
            "kd_upfall.json", "VIGIL_DATA_ROOT=... python bench/kd_quality.py --dataset upfall"
        )
    return partial


def upfall_partial(results: Results) -> str | None:
    """The interrupted GPU run: teacher and no-KD student evaluated, the KD sweep's logs."""
    evals = {
        (split, model): results.get(f"kd_h100_partial/eval_{split}_{model}.json")
        for split in UPFALL_SPLITS
        for model in ("teacher", "student_scratch")
    }
    if not any(evals.values()):
        return None
    header = ["split", "model", *KD_COLUMNS.values()]
    rows = [
        [
            UPFALL_SPLITS[split],
            "teacher" if model == "teacher" else "student, no KD",
            *[num(r.get(c), 3) for c in KD_COLUMNS],
        ]
        for (split, model), r in evals.items()
        if r is not None
    ]
    return (
        "### UP-Fall subject 1 (66 clips, 11 classes, 2 cameras)\n\n"
        "**Not run to the end**: `bench/results/kd_upfall.json` is absent. The GPU run "
        "(`bench/run_kd_gpu.sh`) was cut off when its device time ran out; the teacher and "
        "the student without KD finished for seed 0 of each split, the KD sweep did not. "
        "Below: those checkpoints on the test split (`vigil eval CKPT --data upfall-s1 "
        "--test-where ...`), from `bench/results/kd_h100_partial/`.\n\n"
        f"{table(header, rows, 'llrrrrrr')}\n\n{upfall_sweep(results)}\n\n" + upfall_reading(evals)
    )


def best_val_f1(log: list[Record]) -> dict[str, float]:
    best: dict[str, float] = {}
    for row in log:
        if row.get("val_macro_f1") is not None:
            best[row["model"]] = max(best.get(row["model"], 0.0), row["val_macro_f1"])
    return best


def upfall_sweep(results: Results) -> str:
    logs = {
        s: results.lines(f"kd_h100_partial/{UPFALL_LOGS[s]}.train_log.jsonl") for s in UPFALL_SPLITS
    }
    best = {s: best_val_f1(log) for s, log in logs.items() if log}
    if not best:
        return ""
    runs = sorted({m for b in best.values() for m in b if m.startswith("student_kd")})
    header = ["split", *[r.removeprefix("student_kd(").rstrip(")") for r in runs]]
    rows = [[UPFALL_SPLITS[s], *[num(b.get(r), 3) for r in runs]] for s, b in best.items()]
    scratch = ", ".join(
        f"{num(b.get('student_scratch'), 3)} on {UPFALL_SPLITS[s]}" for s, b in best.items()
    )
    return (
        "KD sweep, best validation macro-F1 of each (T, lam) that ran, from the run's "
        f"`train_log.jsonl` (the no-KD student's best: {scratch}); '-' did not run:\n\n"
        + table(header, rows)
    )


def upfall_reading(evals: dict[tuple[str, str], Record | None]) -> str:
    trial_t, trial_s = evals[("trial", "teacher")], evals[("trial", "student_scratch")]
    camera_t = evals[("camera", "teacher")]
    if not (trial_t and trial_s and camera_t):
        return ""
    gap = (trial_t["accuracy_clip"] - trial_s["accuracy_clip"]) * 100
    chance = 1 / len(camera_t["per_class_recall"])
    return (
        f"Reading: on the trial split the teacher (with label smoothing and the stronger "
        f"augmentation) beats the student by {gap:.0f} points of clip accuracy; across cameras "
        f"it collapses ({camera_t['accuracy_clip']:.0%} clip accuracy, chance is {chance:.0%}), "
        "as the brief warned: a pixel teacher trained on one view does not transfer. The "
        "camera split's validation clips come from camera 1 (the split carves them out of the "
        "training camera), which is why its validation scores look good while the test camera "
        "fails."
    )


def kd_section(results: Results) -> str:
    return (
        "## Distillation quality (`bench/kd_quality.py`)\n\n"
        "On a GPU machine `bench/run_kd_gpu.sh OUT` runs the three dataset/split runs side by "
        "side (`kd_quality.py --device cuda --workers 4 --epochs 25 --teacher-epochs 30 "
        "--patience 8`, sweep on); on a CPU, `bench/kd_quality.py --dataset ...` takes hours "
        "per seed with the cnn3d teacher, and 40 s to 3.5 minutes per seed and split with the pose "
        "teacher once MediaPipe's landmarks are cached (`.benchdata/pose`; extracting "
        "UP-Fall's 66 clips took about 4 minutes on 2 cores).\n\n"
        + "\n\n".join(
            part
            for part in (
                kd_synthetic_section(results),
                kd_other_sections(results),
                kd_upfall_section(results),
            )
            if part
        )
    )


def kd_points(results: Results) -> list[Record]:
    """(split, model, latency, accuracy) of every kd result, for the accuracy/latency plot."""
    points = []
    for path in sorted(results.root.glob("kd_*.json")):
        if is_variant(path):
            continue  # drawn in the student-size or unlabelled-amount section
        record = results.get(path.name) or {}
        for name, split in record.get("splits", {}).items():
            for model in models_in(split["summary"]):
                s = split["summary"][model]
                latency, accuracy = s.get("ort_latency_ms", {}), s.get("accuracy_clip", {})
                if latency.get("mean") and accuracy.get("mean") is not None:
                    points.append(
                        {
                            "split": f"{path.stem.removeprefix('kd_')} {name}",
                            "model": model,
                            "latency_ms": latency["mean"],
                            "accuracy": accuracy["mean"],
                        }
                    )
    return points


# -- edge ----------------------------------------------------------------------------------


def edge_body(r: Record, img: Path) -> str:
    s, goals = r["settings"], r["goals"]
    video = s["throughput_video"]
    student = r.get("student", {})
    rss = [a["peak_rss_mb"] for a in r["throughput"]["agent_runs"]]
    intro = (
        f"Each measurement runs in a child process pinned to core {s['core']}, "
        f"{s['onnxruntime_threads']} onnxruntime thread, `cv2.setNumThreads({s['cv2_threads']})`. "
        f"The agent is the real one ({s['agent']}). Input: a {video['size']} synthetic scenario "
        f"at {video['fps']:g} fps, {video['codec']}. Decode-only and agent runs alternate "
        f"{s['repeats']} times; medians reported. Window latency: {s['latency_models']}. Fall "
        f"alerts: {s['fall_videos']}, seeds {', '.join(map(str, s['fall_seeds']))}, event time = "
        f"video time through `capture.start_time`, with a student {student_text(student)}."
    )
    ratios = r["throughput"]["agent_over_decode_per_repeat"]
    rows = [
        ["decode-only (OpenCV `read`)", f"{num(r['decode_fps'], 0)} fps", "", ""],
        ["whole agent", f"{num(r['agent_fps'], 0)} fps", "", ""],
        [
            "agent / decode-only",
            f"{r['agent_over_decode']:.2f} ({min(ratios):.2f}-{max(ratios):.2f} per repeat)",
            *goal_cells(goals["agent_over_decode"]),
        ],
        [
            f"{s['camera_fps_per_stream']:g} fps streams per core",
            num(r["streams_per_core"]),
            *goal_cells(goals["streams_per_core"]),
        ],
        [
            "student window latency p50 / p95",
            f"{r['student_latency_ms_p50']:.2f} / {r['student_latency_ms_p95']:.2f} ms",
            "",
            "",
        ],
        [
            "teacher window latency p50 / p95",
            f"{r['teacher_latency_ms_p50']:.1f} / {r['teacher_latency_ms_p95']:.1f} ms",
            "",
            "",
        ],
        [
            "agent peak RSS",
            f"{r['peak_rss_mb']:.1f} MB ({min(rss):.0f}-{max(rss):.0f} MB over "
            f"{len(rss)} runs; `vigil edge run`: {r['cli_check']['peak_rss_mb']:.0f} MB)",
            *goal_cells(goals["peak_rss_mb"]),
        ],
        [
            f"fall-alert latency, seeds {s['fall_seeds'][0]}-{s['fall_seeds'][-1]}",
            ", ".join(num(x, 2) for x in r["fall_alert_latency_s"]),
            "",
            "",
        ],
        [
            "median fall-alert latency (a miss counts as infinitely late)",
            f"{num(r['fall_alert_latency_s_median'], 2)} s, {r['falls_detected']} detected",
            *goal_cells(goals["fall_alert_latency_s_median"]),
        ],
    ]
    return (
        intro
        + "\n\n"
        + table(["measure", "result", "goal", "met"], rows, "lrll")
        + ("\n\n" + edge_reading(r))
    )


def student_text(student: Record) -> str:
    if student.get("source") == "given":
        return f"given as `{student.get('path')}`"
    return (
        f"trained here ({student.get('data', '?').rsplit('/', 1)[-1]}; exported "
        f"`{student.get('exported')}`: test clip accuracy {num(student.get('accuracy_clip'), 2)}, "
        f"fall recall {num(student.get('fall_recall'), 2)})"
    )


def seeds(falls: list[Record]) -> str:
    if not falls:
        return "none"
    return seed_list([f["seed"] for f in falls])


def goal_cells(goal: Record) -> list[str]:
    return [goal["goal"], yes_no(goal["met"])]


def edge_reading(r: Record) -> str:
    runs = r["throughput"]["agent_runs"]
    frames = sum(a["frames"] for a in runs)
    per_frame = 1000 * (1 / r["agent_fps_cpu"] - 1 / r["decode_fps_cpu"])
    inference = r["student_latency_ms_p50"] * sum(a["windows"] for a in runs) / frames
    misses = [f for f in r["falls"] if f["latency_s"] is None]
    false = [f for f in r["falls"] if f["false_alarms_before_fall"]]
    text = (
        f"Reading: per frame the agent costs {per_frame:.2f} ms of CPU over decoding, mostly "
        f"the {r['settings']['throughput_video']['size']} -> 32x32 `INTER_AREA` shrink; "
        f"inference is {inference:.2f} ms a frame (one window every few frames). Decoding only "
        f"the frames that windows use (`grab()` without colour conversion for the others) is "
        f"the lever left. Most of the RSS is libraries and the model, before the first frame."
    )
    if misses or false:
        text += (
            f" Missed falls: {seeds(misses)}; false alarms before the fall: {seeds(false)}: "
            "the synthetic-trained student's quality, not the pipeline."
        )
    return text


# -- ingest --------------------------------------------------------------------------------

INGEST_RUNS = {"ingest.json": "python bench/ingest.py", "ingest_rate8000.json": None}


def ingest_section(results: Results) -> str:
    head = "## Ingest (`bench/ingest.py`)\n\n"
    runs = {n: r for n in INGEST_RUNS if (r := results.get(n)) is not None}
    if "ingest.json" not in runs:
        return head + not_run("ingest.json", "python bench/ingest.py")
    base = runs["ingest.json"]
    s = base["settings"]
    intro = "\n\n".join(provenance(r, n) for n, r in runs.items()) + (
        f"\n\nPostgreSQL and Mosquitto on 127.0.0.1: {s['server']}; {s['broker']}. MQTT load: "
        f"QoS 1 events offered at a fixed rate by {s['devices']} registered devices for "
        f"{s['seconds']:g} s; HTTP: {s['http_clients']} device processes posting batches of "
        f"{s['batch']} for {s['http_seconds']:g} s; SSE latency: a probe device at "
        f"{s['probe_rate']:g} events/s, MQTT publish to arrival on `/api/v1/stream`."
    )
    header = [
        "measure",
        *[f"{num(r['settings']['rate'], 0)}/s offered" for r in runs.values()],
        "goal",
        "met",
    ]
    goal = base["goals"]
    rows = [
        [
            "MQTT -> PostgreSQL, sustained",
            *[mqtt_cell(r) for r in runs.values()],
            goal["mqtt_events_per_s_zero_loss"]["goal"],
            " / ".join(
                yes_no(r["goals"]["mqtt_events_per_s_zero_loss"]["met"]) for r in runs.values()
            ),
        ],
        [
            "HTTP batch ingest",
            *[
                f"{num(r['http_events_per_s'], 0)} events/s, {r['http_lost']} lost"
                for r in runs.values()
            ],
            "",
            "",
        ],
        [
            "SSE latency at rest, p50 / p95",
            *[
                f"{r['sse_latency_ms_p50']:.1f} / {r['sse_latency_ms_p95']:.1f} ms"
                for r in runs.values()
            ],
            goal["sse_latency_ms_p95"]["goal"],
            yes_no(goal["sse_latency_ms_p95"]["met"]),
        ],
        [
            "SSE latency under the MQTT load, p50 / p95",
            *[sse_load_cell(r) for r in runs.values()],
            "",
            "",
        ],
    ]
    align = "l" + "r" * len(runs) + "ll"
    return head + intro + "\n\n" + table(header, rows, align) + "\n\n" + ingest_reading(runs)


def mqtt_cell(r: Record) -> str:
    return (
        f"{num(r['mqtt_events_per_s'], 0)} events/s ({num(r['mqtt_sent'])} sent, "
        f"{num(r['mqtt_stored'])} stored, {r['mqtt_lost']} lost)"
    )


def sse_load_cell(r: Record) -> str:
    p50, p95 = r["sse_latency_under_load_ms_p50"], r["sse_latency_under_load_ms_p95"]
    if p95 >= 1000:
        return f"{p50 / 1000:.1f} / {p95 / 1000:.1f} s (backlog)"
    return f"{p50:.0f} / {p95:.0f} ms"


def ingest_reading(runs: dict[str, Record]) -> str:
    text = (
        "Reading: an earlier ingest rendered each batch as one multi-row INSERT with a "
        "parameter per column per event, which psycopg re-parses on every execution, and the "
        "single ingest writer spent most of its time there. On PostgreSQL the batch is now one "
        "`INSERT ... SELECT FROM unnest(...)` with one array parameter per column "
        "(`cloud/service/ingest.py`); SQLite keeps the multi-row insert."
    )
    high = runs.get("ingest_rate8000.json")
    if high is not None and high["mqtt_events_per_s"] < high["mqtt_publish_rate"]:
        text += (
            f" With {num(high['settings']['rate'], 0)}/s offered the ingest falls behind at about "
            f"{num(high['mqtt_events_per_s'], 0)}/s on these shared cores (the load generator and "
            "the broker share them), and the live stream lags by the backlog."
        )
    return text


# -- alert latency -------------------------------------------------------------------------


def alert_body(r: Record, img: Path) -> str:
    s = r["settings"]
    plot = report_plots.alert_latency(r["falls"], img / "alert_latency.png")
    intro = (
        f"{len(s['seeds'])} videos ({s['videos']}), each played by {s['agent']} at its frame "
        f"rate, {s['parallel']} at a time, each its own registered device; {s['server']} on a "
        f"fresh PostgreSQL database and a private Mosquitto; a viewer reads the site's live "
        f"stream. Student: {student_text(r['student'])}, the one bench/edge_throughput.py "
        f"trains and caches (a weak student, so misses and false alarms are counted, not "
        f"hidden). Clocks: the scripted fall is the agent's clock origin plus the scripted "
        f"time, an upper bound on the latency by at most {num(r['start_slack_s_max'], 2)} s "
        f"(origin -> capture start); edge detection is when the agent printed the event, "
        f"after its outbox commit; stored is the alert's `opened_at`."
    )
    streamed = [f for f in r["falls"] if f.get("streamed")]
    detect = falls_dist([f["detect_video_s"] - f["fall_start_s"] for f in streamed])
    edge = falls_dist([f["fall_to_edge_s"] for f in streamed])
    rows = [
        ["scripted fall -> detecting window's end (video time)", *dist_cells(detect, "s", 2)],
        ["scripted fall -> edge detection", *dist_cells(edge, "s", 2)],
        ["scripted fall -> alert on the stream", *dist_cells(r["fall_to_sse_s"], "s", 2)],
        ["edge detection -> alert on the stream", *dist_cells(r["edge_to_sse_ms"], "ms", 0)],
        ["edge detection -> alert stored", *dist_cells(r["edge_to_stored_ms"], "ms", 0)],
        ["alert stored -> on the stream", *dist_cells(r["stored_to_sse_ms"], "ms", 0)],
    ]
    counts = (
        f"Falls scripted {r['falls_scripted']}, detected {r['falls_detected']}, their alert "
        f"on the stream {r['fall_alerts_streamed']}; false alarms (a fall alert before the "
        f"scripted fall) {r['false_alarms']}; every fall alert the agents printed: "
        f"{r['alerts_printed']}, of which on the stream {r['alerts_printed_and_streamed']}. "
        f"Missed falls: {seeds([f for f in r['falls'] if not f['detected']])}; false alarms: "
        f"{seeds([f for f in r['falls'] if f['false_alarms']])}."
    )
    reading = (
        f"Reading: the table is over the falls whose alert reached the stream. Of the time from "
        f"the scripted fall to the alert on the stream (p50 {num(r['fall_to_sse_s'].get('p50'), 2)}"
        f" s), the model's detection in video time is p50 {num(detect.get('p50'), 2)} s; the "
        f"agent -> broker -> ingest -> database -> stream path adds p50 "
        f"{num(r['edge_to_sse_ms'].get('p50'), 0)} ms, p95 {num(r['edge_to_sse_ms'].get('p95'), 0)}"
        f" ms. " + transport_text(r)
    )
    return (
        intro
        + "\n\n"
        + table(["latency", "p50", "p95", "max", "n"], rows)
        + "\n\n"
        + counts
        + "\n\n"
        + reading
        + f"\n\n![fall-alert latency](img/{plot.name})"
    )


def transport_text(r: Record) -> str:
    got, printed = r["alerts_printed_and_streamed"], r["alerts_printed"]
    if got == printed:
        return (
            "The misses and false alarms are this synthetic-trained student's (see its fall "
            f"recall above), not the transport's: every fall alert an agent printed ({printed}) "
            "reached the stream."
        )
    return f"Only {got} of the {printed} fall alerts the agents printed reached the stream."


def falls_dist(values: list[float]) -> Record:
    """p50/p95/max/n of per-fall values, as alert_latency.py summarises its own."""
    from bench.fixtures import percentiles

    return {**percentiles(values), "max": max(values, default=None), "n": len(values)}


def dist_cells(d: Record, unit: str, digits: int) -> list[str]:
    return [
        *[
            f"{num(d.get(k), digits)} {unit}" if d.get(k) is not None else "-"
            for k in ("p50", "p95", "max")
        ],
        str(d.get("n", 0)),
    ]


# -- soak ----------------------------------------------------------------------------------


def soak_body(r: Record, img: Path) -> str:
    s = r["settings"]
    plot = report_plots.soak(
        r["samples"], r["lag_by_minute"], r.get("stream_lag_by_minute", []), img / "soak.png"
    )
    intro = (
        f"{s['devices']} simulated devices over {s['sites']} sites ({s['fleet']}) for "
        f"{s['minutes']:g} minutes: a heartbeat every {s['heartbeat_s']:g} s and an event about "
        f"every {s['event_period_s']:g} s per device (start, then end of an episode; "
        f"{s['fall_share']:.0%} of episodes falls, which open alerts), into {s['server']}; "
        f"a dashboard-like client on the live stream. Load average of this shared machine "
        f"(1 min) during the run: {r['loadavg_1m']['start']} at the start, {r['loadavg_1m']['max']}"
        f" at most, {r['loadavg_1m']['end']} at the end."
    )
    return (
        intro + "\n\n" + soak_tables(r) + "\n\n" + soak_reading(r) + f"\n\n![soak](img/{plot.name})"
    )


def soak_reading(r: Record) -> str:
    serve, minutes, samples = r["serve_rss"], r["lag_by_minute"], r["samples"]
    start, warm, end = serve["start_mb"], serve["after_1_min_mb"], serve["end_mb"]
    slope = serve["slope_mb_per_min_after_1_min"]
    per_hour = f", {slope * 60:.1f} MB an hour if it went on" if slope is not None else ""
    first, last = minutes[0]["lag_ms_p95"], minutes[-1]["lag_ms_p95"]
    worst = max(minutes, key=lambda m: m["lag_ms_p95"])
    loads = {m["minute"]: minute_load(samples, m["minute"]) or 0.0 for m in minutes}
    busiest = loads[worst["minute"]] == max(loads.values())
    return (
        f"Reading: the service's RSS went from {start:.1f} to {end:.1f} MB, {warm - start:.1f} "
        f"MB of it in the first minute (warm-up); after that the slope is {num(slope, 3)} MB a "
        f"minute{per_hour}. A run of {r['settings']['minutes']:g} minutes cannot tell such a "
        f"slope from the tail of the warm-up; a longer one (`--minutes`) would. Ingest lag "
        f"p95 was {first:.0f} ms in the first minute and {last:.0f} ms in the last; the worst "
        f"minute (minute {worst['minute']}, p95 {worst['lag_ms_p95']:.0f} ms) had a load "
        f"average of {loads[worst['minute']]:.1f}"
        + (
            ", the highest of the run: the lag follows the shared machine's load."
            if busiest
            else "."
        )
        + stream_reading(r)
    )


def stream_reading(r: Record) -> str:
    if r.get("stream_lag_ms_p95_first_minute") is None:
        return ""
    return (
        f" To the live stream, after the commit, p95 was {r['stream_lag_ms_p95_first_minute']:.0f}"
        f" ms in the first minute and {r['stream_lag_ms_p95_last_minute']:.0f} ms in the last."
    )


def minute_load(samples: list[Record], minute: int) -> float | None:
    """Mean 1-minute load average of the samples taken in that minute of the soak."""
    loads = [s["loadavg_1m"] for s in samples if minute * 60 <= s["t_s"] < (minute + 1) * 60]
    return sum(loads) / len(loads) if loads else None


def soak_tables(r: Record) -> str:
    streamed = (
        f" Events on the dashboard's live stream: {num(r['events_streamed'])}."
        if "events_streamed" in r
        else ""
    )
    return (
        soak_memory_table(r)
        + "\n\n"
        + table(["messages", "acknowledged by the broker", "stored", "lost"], soak_counts(r))
        + "\n\n"
        + f"Lost = 0 (counted from the database): **{yes_no(r['lost_zero'])}**. Alerts opened: "
        f"{r['alerts_opened']} for {r['fall_starts_stored']} fall starts stored.{streamed}\n\n"
        + soak_lag_table(r)
    )


def soak_memory_table(r: Record) -> str:
    rows = [
        [
            name,
            *[f"{m[k]:.1f}" for k in ("start_mb", "after_1_min_mb", "end_mb", "max_mb")],
            num(m["slope_mb_per_min"], 2),
            num(m["slope_mb_per_min_after_1_min"], 2),
        ]
        for name, m in (
            ("vigil serve (API + ingest)", r["serve_rss"]),
            ("mosquitto", r["broker_rss"]),
        )
    ]
    header = ["RSS, MB", "start", "after 1 min", "end", "max", "slope MB/min", "after 1 min"]
    return table(header, rows)


def soak_counts(r: Record) -> list[list[Any]]:
    return [
        [kind, num(r[f"{kind}_acked"]), num(r[f"{kind}_stored"]), r[f"{kind}_lost"]]
        for kind in ("events", "heartbeats")
    ]


def soak_lag_table(r: Record) -> str:
    """Per minute of publishing: lag to `received_at` (before the commit) and, where the
    JSON has it, to the live stream (after the commit)."""
    stream = {m["minute"]: m for m in r.get("stream_lag_by_minute", [])}
    rows = []
    for m in r["lag_by_minute"]:
        s = stream.get(m["minute"], {})
        cells = [num(m[k], 1) for k in ("lag_ms_p50", "lag_ms_p95", "lag_ms_max")]
        streamed = [num(s.get(k), 1) for k in ("p50", "p95")] if stream else []
        load = num(minute_load(r["samples"], m["minute"]), 1)
        rows.append([m["minute"], num(m["events"]), *cells, *streamed, load])
    header = ["minute", "events", "p50 ms", "p95 ms", "max ms"]
    header += ["stream p50 ms", "stream p95 ms"] if stream else []
    return (
        "Ingest lag by minute of publishing: publish -> `received_at` (stamped when the ingest "
        "takes the batch, before its commit)"
        + (
            "; stream: publish -> arrival on the live stream (sent after the commit)"
            if stream
            else ""
        )
        + ":\n\n"
        + table([*header, "load average"], rows)
    )


# -- faults and bad inputs (other benchmarks' JSON) ----------------------------------------


def faults_body(r: Record, img: Path) -> str:
    header = [
        "fault",
        "emitted (critical)",
        "stored",
        "lost (critical)",
        "duplicated",
        "dropped by policy",
        "outage s",
        "recover s",
        "max lag s",
    ]
    rows = [
        [
            f["scenario"],
            f"{f['emitted']} ({f['critical_emitted']})",
            f["stored"],
            f"{f['lost']} ({f['critical_lost']})",
            f["duplicated"],
            f["dropped_by_policy"],
            num(f["outage_s"]),
            num(f["recover_s"]),
            num(f["max_lag_s"]),
        ]
        for f in r["scenarios"]
    ]
    return (
        table(header, rows) + "\n\n"
        f"Survived (no loss beyond the outbox's counted drops, no critical event lost, nothing "
        f"duplicated): **{r['survived']} of {r['of']}**."
    )


def bad_inputs_body(r: Record, img: Path) -> str:
    return generic_tables(r)


PROVENANCE_KEYS = {"benchmark", "command", "machine", "commit", "finished_at", "settings"}


def generic_tables(record: Record) -> str:
    """A result whose shape this report does not know: its scalars, then each list of rows
    and each dict of rows (one row per key) as a table."""
    scalars = [[k, _cell(v)] for k, v in record.items() if k not in PROVENANCE_KEYS and _scalar(v)]
    parts = [table(["measure", "value"], scalars)] if scalars else []
    for key, value in record.items():
        if key in PROVENANCE_KEYS:
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            parts.append(f"`{key}`:\n\n" + rows_table(key, dict(enumerate(value)), index=False))
        elif isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            parts.append(f"`{key}`:\n\n" + rows_table(key, value, index=True))
    return "\n\n".join(parts) or "(no figures in the JSON)"


def rows_table(key: str, rows: dict[Any, Record], index: bool) -> str:
    """One row per item, one column per field any item has (nested values summarised)."""
    columns = list(dict.fromkeys(c for row in rows.values() for c in row))
    header = [key if index else columns[0], *columns[0 if index else 1 :]]
    body = [
        [*([str(name)] if index else []), *[_cell(row.get(c)) for c in columns]]
        for name, row in rows.items()
    ]
    return table(header, body)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, list):
        return ", ".join(map(str, value)) if value else "none"
    if isinstance(value, dict):
        return "; ".join(f"{k} {_cell(v)}" for k, v in value.items())
    return num(value, 3) if isinstance(value, float) else num(value)


# -- model size ----------------------------------------------------------------------------


def size_section(results: Results) -> str:
    head = "## Model size and latency\n\n"
    kd, edge = results.get("kd_synthetic.json"), results.get("edge_throughput.json")
    if kd is None or edge is None:
        return head + "**Not run**: needs `kd_synthetic.json` and `edge_throughput.json`."
    summary = next(iter(kd["splits"].values()))["summary"]
    t, st = summary["teacher"], summary["student_kd"]
    ratio = edge["student_latency_ms_p50"] / edge["teacher_latency_ms_p50"]
    return head + (
        f"Parameters and MACs from `kd_synthetic.json`: teacher {num(t['params']['mean'])} "
        f"parameters and {t['macs']['mean'] / 1e6:,.0f} M MACs per window, student "
        f"{num(st['params']['mean'])} and {st['macs']['mean'] / 1e6:,.1f} M. Window latency "
        f"from `edge_throughput.json` (one thread): student p50 "
        f"{edge['student_latency_ms_p50']:.2f} ms, teacher p50 {edge['teacher_latency_ms_p50']:.1f}"
        f" ms, a ratio of 1/{1 / ratio:.0f}. Static int8 (QDQ) makes the student file smaller "
        "but was not faster on this x86 CPU; a test (`tests/test_export.py`) checks that its "
        "argmax agrees with fp32 on most windows."
    )


# -- the document --------------------------------------------------------------------------

INTRO = """# Benchmarks

<!-- Generated by bench/report.py from bench/results/*.json: edit the script, not this file. -->

Every number here comes from a script in `bench/` that writes JSON into
`bench/results/`; `bench/run_all.sh` runs them all and then this report. Each section
names the command and the machine. Numbers are reported as they came, goals met or not.
Speed targets are benchmarks, never test assertions (the development machine is a
shared, noisy 2-core VM: each JSON records the load average when it was written)."""


EDGE = Section(
    "Edge throughput (`bench/edge_throughput.py`)",
    "edge_throughput.json",
    "python bench/edge_throughput.py",
    edge_body,
)
ALERTS = Section(
    "Fall-alert latency, end to end (`bench/alert_latency.py`)",
    "alert_latency.json",
    "python bench/alert_latency.py",
    alert_body,
)
SOAK = Section("Soak (`bench/soak.py`)", "soak.json", "python bench/soak.py", soak_body)
FAULTS = Section(
    "Faults survived (`bench/faults.py`)", "faults.json", "python bench/faults.py", faults_body
)
def window_phase_body(r: Record, img: Path) -> str:
    s = r["settings"]
    intro = (
        f"The quick demo's student without KD ({s['clips_per_class']} clips a class of the "
        f"demo's room, {s['epochs']} epochs), trained per recipe, exported, and played by "
        f"`vigil edge run --print` on the default scenario in the same room ({s['size']} px, "
        f"fall at {r['fall']['start_s']:g}-{r['fall']['end_s']:g} s) at {s['phases']} window "
        f"phases: phase k drops the first k frames, so the edge's windows (every "
        f"{r['edge_hop_s']:g} s) land k/{r['fps']:g} s later on the motion. Caught: a critical "
        f"fall alert from the fall's start to {s['late_s']:g} s after its end. Per phase: x "
        f"caught, . missed."
    )
    rows = []
    for run in r["runs"]:
        summary = run["summary"]
        rows.append([
            f"{run['hop_s']:g} s", run["draws"], f"{run['time_jitter_s']:g} s",
            run["train_seed"], num(run["train_windows"], 0),
            num(run["train_wall_s"], 0), f"{summary['caught']} of {summary['phases']}",
            summary["with_false_alarm"], num(summary["latency_s_median"], 2),
            num(summary["latency_s_max"], 2),
            " ".join("x" if p["caught"] else "." for p in run["per_phase"]),
        ])  # fmt: skip
    header = [
        "training hop", "draws", "time jitter", "seed", "training windows", "training s",
        "phases caught",
        "phases with a false alarm", "latency median (s)", "latency max (s)", "per phase",
    ]  # fmt: skip
    totals = []
    for name, summary in r["by_recipe"].items():
        hop, draws, *jitter = name.split(":")
        label = f"every {hop} s, {draws} draws" + (f", jitter {jitter[0]} s" if jitter else "")
        totals.append(
            f"{label}: caught in {summary['caught']} of {summary['phases']} phase runs, a false "
            f"alarm in {summary['with_false_alarm']}"
        )
    return intro + "\n\n" + table(header, rows) + "\n\nOver the seeds: " + "; ".join(totals) + "."


WINDOW_PHASE = Section(
    "Window phase: is the fall caught wherever the edge's windows fall? "
    "(`bench/window_phase.py`)",
    "window_phase.json",
    "python bench/window_phase.py",
    window_phase_body,
)
BAD_INPUTS = Section(
    "Bad inputs tried (`bench/bad_inputs.py`)",
    "bad_inputs.json",
    "python bench/bad_inputs.py",
    bad_inputs_body,
)


def render(results_dir: Path, img: Path) -> str:
    """The whole document; writes its figures under `img`."""
    results = Results(results_dir)
    points = kd_points(results)
    figure = ""
    if points:
        plot = report_plots.accuracy_vs_latency(points, img / "kd_accuracy_latency.png")
        figure = f"\n\n![accuracy vs latency](img/{plot.name})"
    parts = [
        kd_section(results) + figure,
        student_size_section(results, img),
        unlabeled_amount_section(results, img),
        motion_crop_section(results),
        EDGE.render(results, img),
        ingest_section(results),
        ALERTS.render(results, img),
        WINDOW_PHASE.render(results, img),
        SOAK.render(results, img),
        FAULTS.render(results, img),
        BAD_INPUTS.render(results, img),
        size_section(results),
    ]
    return "\n\n".join([INTRO, *parts]) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, default=RESULTS, help="folder of result JSONs")
    p.add_argument("--out", type=Path, default=DOC, help="the Markdown file to write")
    p.add_argument("--img", type=Path, help="folder for the PNGs (default: beside --out, img/)")
    args = p.parse_args()
    img = args.img or args.out.parent / "img"
    args.out.write_text(render(args.results, img))
    print(f"wrote {args.out} and {sorted(x.name for x in img.glob('*.png'))}")


if __name__ == "__main__":
    main()
