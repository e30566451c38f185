"""Distillation quality: teacher, student without KD, KD student; several seeds.

    python -m bench.kd_quality --dataset synthetic            # -> bench/results/kd_synthetic.json
    python -m bench.kd_quality --dataset upfall               # -> bench/results/kd_upfall.json
    python -m bench.kd_quality --dataset upfall --teacher pose --unlabeled-heldout
                                                              # -> bench/results/kd_upfall_pose.json
    python -m bench.kd_quality --dataset fall --teacher pose --unlabeled-heldout
                                                              # -> bench/results/kd_fall_pose.json

Each seed runs the real pipeline (`cloud.training.pipeline.run_pipeline`) with the sweep on;
the JSON keeps every seed's report and the mean/std per model, plus the goals of the
distillation issue checked against the means (met or not, as they come). The JSON is
rewritten after every seed, so a run cut short keeps what it finished.

`--dataset fall` is fall vs not-fall across people (shared.datasets.fall_labels aligns
the labels): leave-one-subject-out on gmdcsa24-s1-3, and upfall-s1 plus two GMDCSA24
subjects -> the third. `--unlabeled-heldout` hands the held-out split's videos, without
their labels, to the pipeline's `unlabeled` (a fourth model, `student_kd_unlabeled`).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import REPO, write_result
from cloud.training.evaluation import mean_std
from cloud.training.params import add_training_flags, params_from_args
from cloud.training.pipeline import PipelineConfig, run_pipeline
from cloud.training.report import ModelName
from shared.datasets import ClipRecord, load_folder, split_records
from shared.datasets.fall_labels import AlignedClip, write_fall_manifest
from shared.video import probe_video

MODELS = tuple(ModelName)
METRICS = (
    "accuracy_clip",
    "accuracy_window",
    "macro_f1",
    "fall_recall",
    "fall_precision",
    "fall_auc_window",
    "ort_latency_ms",
    "params",
    "macs",
)
# name -> (test_where, val_where): UP-Fall's main split and the viewpoint stress test.
UPFALL_SPLITS = {"trials_1_2_to_3": ("trial=3", None), "camera_1_to_2": ("camera=2", None)}
GMDCSA_SUBJECTS = ("S1", "S2", "S3")


def data_root() -> Path:
    return Path(os.environ.get("VIGIL_DATA_ROOT", REPO.parent / "shared" / "data"))


def synthetic_data(work: Path, args: argparse.Namespace) -> Path:
    from shared.synth import write_synth_dataset

    root = work / f"synth-{args.clips_per_class}-per-class-112px"
    if not (root / "manifest.csv").exists():
        write_synth_dataset(root, clips_per_class=args.clips_per_class, seed=0, size=112)
    return root


def fall_folders(work: Path) -> dict[str, Path]:
    """Fall / not-fall folders: GMDCSA24 alone, and UP-Fall with GMDCSA24 (absolute paths)."""
    sources = {"upfall": data_root() / "upfall-s1", "gmdcsa": data_root() / "gmdcsa24-s1-3"}
    clips: dict[str, list[AlignedClip]] = {}
    for name, root in sources.items():
        if not (root / "manifest.csv").exists():
            sys.exit(f"kd_quality: {root} not found (set VIGIL_DATA_ROOT)")
        records = load_folder(root)
        clips[name] = [AlignedClip(r, name, probe_video(r.path).duration_s) for r in records]
    gmdcsa = write_fall_manifest(clips["gmdcsa"], work / "fall-gmdcsa").parent
    both = write_fall_manifest(clips["upfall"] + clips["gmdcsa"], work / "fall-upfall-gmdcsa")
    return {"gmdcsa": gmdcsa, "upfall_gmdcsa": both.parent}


def fall_plan(work: Path) -> dict[str, tuple[Path, str, str | None]]:
    """name -> (data, test_where, val_where): each GMDCSA24 person held out, two ways."""
    folders = fall_folders(work)
    plan = {}
    for subject in GMDCSA_SUBJECTS:
        where = f"subject=gmdcsa:{subject}"
        plan[f"loso_gmdcsa_{subject}"] = (folders["gmdcsa"], where, None)
        plan[f"upfall_gmdcsa_to_{subject}"] = (folders["upfall_gmdcsa"], where, None)
    return plan


def heldout_videos(
    data: Path, test_where: str | None, seed: int, folder: Path, fraction: float = 1.0
) -> tuple[Path, int]:
    """A folder of links to the test split's videos: footage a deployment has no labels for.

    `fraction` keeps that share of the videos (at least one), drawn by the seed; a smaller
    fraction keeps a prefix of the same draw, so 25% of the videos lie inside the 50%.
    Returns the folder and how many videos it holds.
    """
    records: list[ClipRecord] = load_folder(data)
    test = split_records(records, test_where=test_where, seed=seed).test
    draw = sorted(range(len(test)), key=lambda i: str(test[i].path))
    random.Random(seed).shuffle(draw)
    chosen = set(draw[: max(1, math.ceil(fraction * len(test)))])
    kept = [record for i, record in enumerate(test) if i in chosen]  # the split's order
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for i, record in enumerate(kept):
        (folder / f"{i:03d}_{record.path.name}").symlink_to(record.path.resolve())
    return folder, len(kept)


def run_split(
    data: Path,
    test_where: str | None,
    val_where: str | None,
    args: argparse.Namespace,
    work: Path,
    tag: str,
    on_seed: Any = None,
) -> dict[str, Any]:
    per_seed: list[dict[str, Any]] = []
    result: dict[str, Any] = {}
    for seed in args.seeds:
        out = work / f"{tag}-seed{seed}"
        shutil.rmtree(out, ignore_errors=True)
        started = time.monotonic()
        unlabeled, n_unlabeled = None, 0
        if args.unlabeled_heldout:
            unlabeled, n_unlabeled = heldout_videos(
                data, test_where, seed, work / f"{tag}-unlabeled", args.unlabeled_fraction
            )
        params = params_from_args(args, test_where=test_where, val_where=val_where, seed=seed)
        cfg = PipelineConfig(
            params=params, data=data, out=out, unlabeled=unlabeled, device=args.device,
            workers=args.workers, pose_cache=args.pose_cache,
        )  # fmt: skip
        report = run_pipeline(cfg).as_json()
        report["wall_s"] = round(time.monotonic() - started, 1)
        if args.unlabeled_heldout:
            report["unlabeled_videos"] = n_unlabeled
        per_seed.append({"seed": seed, "report": report})
        print(f"{tag} seed {seed}: " + summary_line(report), flush=True)
        result = {
            "test_where": test_where,
            "val_where": val_where,
            "per_seed": per_seed,
            "summary": summarise(per_seed),
        }
        if on_seed is not None:
            on_seed(result)  # keep what is done if a long run is cut short
    return result


def summary_line(report: dict[str, Any]) -> str:
    return ", ".join(
        f"{m} clip acc {report[m]['accuracy_clip']:.3f} fall AUC {auc(report[m])}"
        for m in MODELS
        if m in report
    )


def auc(entry: dict[str, Any]) -> str:
    value = entry.get("fall_auc_window")
    return "n/a" if value is None else f"{value:.3f}"


def summarise(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for model in MODELS:
        if not all(model in run["report"] for run in per_seed):
            continue
        summary[model] = {
            metric: mean_std([run["report"][model].get(metric) for run in per_seed])
            for metric in METRICS
        }
    summary["teacher_kind"] = per_seed[0]["report"].get("teacher_kind", "cnn3d")
    summary["teacher_ms_per_window"] = mean_std(
        [run["report"].get("teacher_cost", {}).get("ms_per_window") for run in per_seed]
    )
    summary["kd_over_scratch_time"] = mean_std(
        [run["report"]["timing"]["kd_over_scratch"] for run in per_seed]
    )
    summary["teacher_better_on_val"] = [
        run["report"]["teacher_gate"]["teacher_better"] for run in per_seed
    ]
    summary["chosen_kd"] = [
        {k: run["report"]["student_kd"]["kd"][k] for k in ("temperature", "lam")}
        for run in per_seed
    ]
    summary["goals"] = goals(summary)
    return summary


def goals(summary: dict[str, Any]) -> dict[str, Any]:
    """The distillation issue's goals, checked against the means across seeds."""

    def mean(model: str, metric: str) -> float:
        return summary[model][metric]["mean"]

    gain = mean("student_kd", "accuracy_clip") - mean("student_scratch", "accuracy_clip")
    gap = mean("teacher", "accuracy_clip") - mean("student_kd", "accuracy_clip")
    # The teacher's whole cost per window (for a pose teacher: MediaPipe on each frame too).
    teacher_ms = summary["teacher_ms_per_window"]["mean"] or mean("teacher", "ort_latency_ms")
    latency = mean("student_kd", "ort_latency_ms") / teacher_ms
    time_ratio = summary["kd_over_scratch_time"]["mean"]
    return {
        **(pose_goals(summary) if summary.get("teacher_kind") == "pose" else {}),
        "kd_gain_clip_acc": {"value": gain, "goal": ">= 0.03", "met": gain >= 0.03},
        "teacher_minus_kd_clip_acc": {"value": gap, "goal": "<= 0.05", "met": gap <= 0.05},
        "latency_ratio_student_over_teacher": {
            "value": latency,
            "goal": "<= 0.05",
            "met": latency <= 0.05,
        },
        "kd_time_over_scratch": {
            "value": time_ratio,
            "goal": "<= 1.5",
            "met": time_ratio is not None and time_ratio <= 1.5,
        },
    }


def pose_goals(summary: dict[str, Any]) -> dict[str, Any]:
    """The pose-teacher issue's goals: teacher fall AUC >= 0.9, KD +5 points over no KD."""

    def mean(model: str, metric: str) -> float | None:
        entry = summary.get(model)
        return None if entry is None else entry[metric]["mean"]

    def check(value: float | None, goal: float) -> dict[str, Any]:
        return {"value": value, "goal": f">= {goal}", "met": value is not None and value >= goal}

    teacher_auc = mean("teacher", "fall_auc_window")
    goals = {"teacher_fall_auc_window": check(teacher_auc, 0.9)}
    scratch_acc = mean("student_scratch", "accuracy_clip")
    scratch_auc = mean("student_scratch", "fall_auc_window")
    for model in ("student_kd", "student_kd_unlabeled"):
        acc, fall_auc = mean(model, "accuracy_clip"), mean(model, "fall_auc_window")
        if acc is not None and scratch_acc is not None:
            goals[f"{model}_clip_acc_gain"] = check(acc - scratch_acc, 0.05)
        if fall_auc is not None and scratch_auc is not None:
            goals[f"{model}_fall_auc_gain"] = check(fall_auc - scratch_auc, 0.05)
    return goals


def fraction(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not in (0, 1]")
    return value


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", choices=("synthetic", "upfall", "fall"), required=True)
    # The training settings, as `vigil train pipeline` has them, with this benchmark's
    # schedule; each split sets its own test and validation rows, --seeds the seeds.
    add_training_flags(
        p,
        skip=("test_where", "val_where", "seed"),
        defaults={"epochs": 30, "teacher_epochs": 40, "patience": 10, "sweep": True},
    )
    p.add_argument(
        "--pose-cache",
        type=Path,
        default=REPO / ".benchdata" / "pose",
        help="landmark cache shared by every run",
    )
    p.add_argument(
        "--unlabeled-heldout",
        action="store_true",
        help="distil also on the held-out split's videos, without their labels",
    )
    p.add_argument(
        "--unlabeled-fraction",
        type=fraction,
        default=1.0,
        help="share of the held-out videos given as unlabelled video (0 < F <= 1)",
    )
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--clips-per-class", type=int, default=50, help="synthetic: clips per class")
    p.add_argument("--device", default="cpu")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--work", type=Path, default=REPO / "bench" / "runs")
    p.add_argument("--out", type=Path, help="JSON path (default bench/results/kd_<dataset>.json)")
    p.add_argument(
        "--split",
        action="append",
        help="split(s) to run (default: all): "
        + ", ".join(sorted(UPFALL_SPLITS))
        + "; for --dataset fall: loso_gmdcsa_S1..S3, upfall_gmdcsa_to_S1..S3",
    )
    p.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        help="merge the splits of these result files into --out, run nothing",
    )
    return p.parse_args()


def main() -> None:
    args = parse_args()
    if args.unlabeled_fraction < 1 and not args.unlabeled_heldout:
        sys.exit("kd_quality: --unlabeled-fraction needs --unlabeled-heldout")
    if args.merge:
        merge_results(args.merge, args.out)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    plan = make_plan(args)
    unknown = set(args.split or ()) - set(plan)
    if unknown:
        sys.exit(f"kd_quality: unknown split(s) {sorted(unknown)}; known: {sorted(plan)}")
    plan = {name: plan[name] for name in (args.split or plan)}
    splits: dict[str, Any] = {}
    # cnn3d keeps the distillation issue's file names; other teachers get their own.
    name = f"kd_{args.dataset}.json" if args.teacher == "cnn3d" else (
        f"kd_{args.dataset}_{args.teacher}.json")  # fmt: skip
    if args.unlabeled_fraction < 1:  # the amount-of-unlabelled-video twins: kd_X_u25.json
        name = name.replace(".json", f"_u{round(args.unlabeled_fraction * 100)}.json")
    if args.student_crop != "none":  # the student that sees a crop: kd_X_crop.json
        name = name.replace(".json", "_crop.json")

    folders = {str(data) for data, _, _ in plan.values()}
    # One folder for every split (as before the fall task): said once, at the top.
    top = {"data": folders.pop()} if len(folders) == 1 else {}

    def save(split: str, result: dict[str, Any]) -> None:
        splits[split] = {"data": str(plan[split][0]), **result}
        write_result(name, {"settings": settings, **top, "splits": splits}, args.out)

    for split, (data, test, val) in plan.items():
        tag = f"{args.dataset}-{args.teacher}-{split}"
        run_split(data, test, val, args, args.work, tag, lambda r, n=split: save(n, r))
    print(f"wrote {args.out or 'bench/results/' + name}")


def make_plan(args: argparse.Namespace) -> dict[str, tuple[Path, str | None, str | None]]:
    """split name -> (data folder, test_where, val_where)."""
    if args.dataset == "synthetic":
        return {"group_4": (synthetic_data(args.work, args), "group=4", "group=3")}
    if args.dataset == "fall":
        return fall_plan(args.work)
    data = data_root() / "upfall-s1"
    if not (data / "manifest.csv").exists():
        sys.exit(f"kd_quality: UP-Fall clips not found at {data} (set VIGIL_DATA_ROOT)")
    return {name: (data, test, val) for name, (test, val) in UPFALL_SPLITS.items()}


def merge_results(paths: list[Path], out: Path | None) -> None:
    """Join result files of one dataset whose splits or seeds ran as separate processes.

    A split found in several files keeps every file's seeds (a seed in two files is an
    error) and its summary is computed again over all of them. `sources` keeps each
    file's command, commit and time, since they may differ.
    """
    import json

    records = [json.loads(p.read_text()) for p in paths]
    merged = {**records[0], "splits": {}}
    merged["sources"] = [
        {"file": p.name, **{k: r[k] for k in ("command", "commit", "finished_at", "commit_note")
                            if k in r},
         "seeds": {n: [s["seed"] for s in split["per_seed"]] for n, split in r["splits"].items()}}
        for p, r in zip(paths, records, strict=True)
    ]  # fmt: skip
    for record in records:
        for name, split in record["splits"].items():
            if name not in merged["splits"]:
                merged["splits"][name] = {**split, "per_seed": list(split["per_seed"])}
                continue
            into = merged["splits"][name]
            if (into["test_where"], into["val_where"]) != (split["test_where"], split["val_where"]):
                sys.exit(f"kd_quality: split {name} is not the same split in every file")
            seen = {s["seed"] for s in into["per_seed"]}
            twice = seen & {s["seed"] for s in split["per_seed"]}
            if twice:
                sys.exit(f"kd_quality: split {name}: seed(s) {sorted(twice)} in two files")
            into["per_seed"] = sorted(into["per_seed"] + split["per_seed"], key=lambda s: s["seed"])
    for split in merged["splits"].values():
        split["summary"] = summarise(split["per_seed"])
    merged["settings"] = {**merged.get("settings", {}), "seeds": sorted(
        {s["seed"] for split in merged["splits"].values() for s in split["per_seed"]})}  # fmt: skip
    target = out or paths[0]
    target.write_text(json.dumps(merged, indent=2) + "\n")
    print(f"merged {len(paths)} files into {target}")


if __name__ == "__main__":
    main()
