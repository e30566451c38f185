"""Distillation quality: teacher, student without KD, KD student; several seeds.

    python bench/kd_quality.py --dataset synthetic            # -> bench/results/kd_synthetic.json
    python bench/kd_quality.py --dataset upfall               # -> bench/results/kd_upfall.json

Each seed runs the real pipeline (`cloud.pipeline.run_pipeline`) with the sweep on;
the JSON keeps every seed's report and the mean/std per model, plus the goals of the
distillation issue checked against the means (met or not, as they come).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import REPO, write_result  # noqa: E402
from cloud.metrics import mean_std  # noqa: E402
from cloud.pipeline import PipelineConfig, run_pipeline  # noqa: E402

MODELS = ("teacher", "student_scratch", "student_kd")
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


def data_root() -> Path:
    return Path(os.environ.get("VIGIL_DATA_ROOT", REPO.parent / "shared" / "data"))


def synthetic_data(work: Path, args: argparse.Namespace) -> Path:
    from shared.synth import write_synth_dataset

    root = work / f"synth-{args.clips_per_class}-per-class-112px"
    if not (root / "manifest.csv").exists():
        write_synth_dataset(root, clips_per_class=args.clips_per_class, seed=0, size=112)
    return root


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
        cfg = PipelineConfig(
            data=data, out=out, test_where=test_where, val_where=val_where, seed=seed,
            epochs=args.epochs, teacher_epochs=args.teacher_epochs, sweep=not args.no_sweep,
            device=args.device, workers=args.workers, patience=args.patience,
        )
        report = run_pipeline(cfg)
        report["wall_s"] = round(time.monotonic() - started, 1)
        per_seed.append({"seed": seed, "report": report})
        print(f"{tag} seed {seed}: " + summary_line(report), flush=True)
        result = {"test_where": test_where, "val_where": val_where, "per_seed": per_seed,
                  "summary": summarise(per_seed)}
        if on_seed is not None:
            on_seed(result)  # keep what is done if a long run is cut short
    return result


def summary_line(report: dict[str, Any]) -> str:
    return ", ".join(f"{m} clip acc {report[m]['accuracy_clip']:.3f}" for m in MODELS)


def summarise(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for model in MODELS:
        summary[model] = {
            metric: mean_std([run["report"][model].get(metric) for run in per_seed])
            for metric in METRICS
        }
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
    latency = mean("student_kd", "ort_latency_ms") / mean("teacher", "ort_latency_ms")
    time_ratio = summary["kd_over_scratch_time"]["mean"]
    return {
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


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", choices=("synthetic", "upfall"), required=True)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--teacher-epochs", type=int, default=40)
    p.add_argument("--patience", type=int, default=10)
    p.add_argument("--clips-per-class", type=int, default=50)
    p.add_argument("--no-sweep", action="store_true")
    p.add_argument("--device", default="cpu")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--work", type=Path, default=REPO / "bench" / "runs")
    p.add_argument("--out", type=Path, help="JSON path (default bench/results/kd_<dataset>.json)")
    p.add_argument(
        "--split",
        action="append",
        choices=sorted(UPFALL_SPLITS),
        help="UP-Fall split(s) to run (default: all)",
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
    if args.merge:
        merge_results(args.merge, args.out)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    if args.dataset == "synthetic":
        data = synthetic_data(args.work, args)
        plan = {"group_4": ("group=4", "group=3")}
    else:
        data = data_root() / "upfall-s1"
        if not (data / "manifest.csv").exists():
            sys.exit(f"kd_quality: UP-Fall clips not found at {data} (set VIGIL_DATA_ROOT)")
        plan = {name: UPFALL_SPLITS[name] for name in (args.split or UPFALL_SPLITS)}
    splits: dict[str, Any] = {}

    def save(name: str, result: dict[str, Any]) -> None:
        splits[name] = result
        payload = {"settings": settings, "data": str(data), "splits": splits}
        write_result(f"kd_{args.dataset}.json", payload, args.out)

    for name, (test, val) in plan.items():
        tag = f"{args.dataset}-{name}"
        run_split(data, test, val, args, args.work, tag, lambda r, n=name: save(n, r))
    print(f"wrote {args.out or 'bench/results/kd_' + args.dataset + '.json'}")


def merge_results(paths: list[Path], out: Path | None) -> None:
    """Join result files of one dataset whose splits ran as separate processes."""
    import json

    records = [json.loads(p.read_text()) for p in paths]
    merged = {**records[0], "splits": {}}
    for record in records:
        merged["splits"].update(record["splits"])
    target = out or paths[0]
    target.write_text(json.dumps(merged, indent=2) + "\n")
    print(f"merged {len(paths)} files into {target}")


if __name__ == "__main__":
    main()
