"""Training subcommands: `vigil train ...`, `vigil eval`, `vigil export`.

The training flags are generated from `cloud.training.params.TrainingParams`, one per
field. Only argparse and pydantic at import time: torch and the rest load inside the
handlers, so these commands are listed (and explain themselves) on an edge-only install.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from cloud.training.params import add_training_flags, params_from_args
from shared.cli import require_extra

if TYPE_CHECKING:
    from cloud.training.pipeline import PipelineConfig
    from cloud.training.report import RunReport, Scores

SPLIT_FIELDS = ("test_where", "val_where", "seed")
# A teacher alone has no distillation; a student alone has no teacher schedule of its own.
NOT_FOR_TEACHER = ("temperature", "lam", "sweep", "int8")
NOT_FOR_STUDENT = ("teacher_epochs", "int8")


def register(subparsers: argparse._SubParsersAction) -> None:
    register_train(subparsers)
    ev = subparsers.add_parser("eval", help="score a checkpoint or ONNX model on a dataset")
    ev.add_argument("model", type=Path, help="a .pt checkpoint or a .onnx student")
    ev.add_argument("--data", type=Path, required=True)
    add_training_flags(ev, only=SPLIT_FIELDS)
    ev.add_argument("--all", action="store_true", help="score every clip, not the test split")
    ev.set_defaults(handler=run_eval)
    ex = subparsers.add_parser("export", help="export a student checkpoint to ONNX")
    ex.add_argument("checkpoint", type=Path)
    ex.add_argument("--out", type=Path, required=True)
    ex.add_argument("--int8", action="store_true", help="also write a static int8 (QDQ) model")
    ex.add_argument("--data", type=Path, help="calibration data for --int8")
    ex.set_defaults(handler=run_export)


def add_run_args(parser: argparse.ArgumentParser, out_help: str) -> None:
    """Where a run reads and writes and what it runs on: not part of what it trains."""
    parser.add_argument("--data", type=Path, required=True, help="dataset folder")
    parser.add_argument("--out", type=Path, required=True, help=out_help)
    parser.add_argument(
        "--pose-cache", type=Path, help="landmark cache (default $VIGIL_POSE_CACHE)"
    )
    parser.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1")
    parser.add_argument("--workers", type=int, default=0, help="data-loader processes")


def add_unlabeled_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--unlabeled",
        type=Path,
        help="folder of unlabelled videos whose windows join the KD training set "
        "(the teacher labels them; no hard-label term)",
    )


def register_train(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser("train", help="train teachers and students")
    sub = train.add_subparsers(dest="train_command", required=True, metavar="WHAT")
    pipe = sub.add_parser("pipeline", help="teacher, student without KD, KD student, export")
    add_run_args(pipe, "run directory")
    add_training_flags(pipe)
    add_unlabeled_arg(pipe)
    pipe.set_defaults(handler=run_pipeline_cmd)
    teacher = sub.add_parser("teacher", help="train a teacher checkpoint")
    add_run_args(teacher, "checkpoint file (.pt)")
    add_training_flags(teacher, skip=NOT_FOR_TEACHER)
    teacher.set_defaults(handler=run_train_teacher)
    student = sub.add_parser("student", help="train a student checkpoint")
    add_run_args(student, "checkpoint file (.pt)")
    add_training_flags(student, skip=NOT_FOR_STUDENT)
    how = student.add_mutually_exclusive_group(required=True)
    how.add_argument("--teacher-ckpt", "--from-teacher", dest="teacher_ckpt", type=Path)
    how.add_argument("--no-kd", action="store_true", help="train on hard labels only")
    add_unlabeled_arg(student)
    student.set_defaults(handler=run_train_student)


def pipeline_config(args: argparse.Namespace, out: Path, **fixed: object) -> PipelineConfig:
    """The run the flags ask for (`fixed`: settings that come from elsewhere, e.g. a teacher)."""
    from cloud.training.pipeline import PipelineConfig

    return PipelineConfig(
        params=params_from_args(args, **fixed),
        data=args.data,
        out=out,
        unlabeled=getattr(args, "unlabeled", None),
        device=args.device,
        workers=args.workers,
        pose_cache=args.pose_cache,
    )


def run_pipeline_cmd(args: argparse.Namespace) -> int:
    require_extra("train", "torch")
    from cloud.training.pipeline import run_pipeline

    report = run_pipeline(pipeline_config(args, args.out))
    print(summary_table(report))
    print(f"run written to {args.out}")
    return 0


def summary_table(report: RunReport) -> str:
    rows = [f"{'model':<20} {'clip acc':>8} {'macro-F1':>8} {'fall rec':>8} {'ms/window':>9}"]
    entries: list[tuple[str, Scores]] = [(str(name), entry) for name, entry in report.models()]
    if report.student_int8 is not None:
        entries.append(("student_int8", report.student_int8))
    for name, entry in entries:
        rows.append(
            f"{name:<20} {entry.accuracy_clip:>8.3f} {entry.macro_f1:>8.3f} "
            f"{number(entry.fall_recall):>8} {number(entry.ort_latency_ms, 2):>9}"
        )
    return "\n".join(rows)


def number(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def init_distributed() -> None:
    """Join the process group when started by torchrun (gloo on CPU, NCCL on GPU)."""
    import torch
    import torch.distributed as dist

    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")


def run_train_teacher(args: argparse.Namespace) -> int:
    require_extra("train", "torch")
    from cloud.training.pipeline import run_windows, stage_teacher

    init_distributed()
    cfg = pipeline_config(args, args.out.parent)
    # The pipeline's own windows: the same hop and augmentation draws as a pipeline run.
    stage_teacher(cfg, run_windows(cfg), run_stamp(), args.out)
    print(f"teacher written to {args.out}")
    return 0


def run_train_student(args: argparse.Namespace) -> int:
    require_extra("train", "torch")
    from cloud.training.checkpoint import load_checkpoint
    from cloud.training.pipeline import Trained, kd_training_set, prepare_run_data, stage_student
    from cloud.training.report import ModelName
    from cloud.training.teachers import view_of

    if args.unlabeled and not args.teacher_ckpt:
        raise SystemExit("vigil: --unlabeled needs --teacher-ckpt (only a teacher labels them)")
    init_distributed()
    ckpt = load_checkpoint(args.teacher_ckpt) if args.teacher_ckpt else None
    fixed = {}
    if ckpt is not None:  # the teacher's own kind, features and input decide its view
        fixed = {
            "teacher": ckpt.train_config.get("teacher_kind", "cnn3d"),
            "pose_features": ckpt.train_config.get("pose_features", args.pose_features),
            "teacher_frames": ckpt.metadata.input.frames,
            "teacher_size": ckpt.metadata.input.height,
        }
    cfg = pipeline_config(args, args.out.parent, **fixed)
    # The pipeline's own data step: the same hop and augmentation draws as a pipeline run.
    data = prepare_run_data(cfg)
    teacher = None
    if ckpt is not None:
        check_teacher_labels(ckpt.metadata.labels, list(data.labels.names), args.teacher_ckpt)
        teacher = Trained(ModelName.TEACHER, view_of(ckpt), ckpt, 0.0)
    name = ModelName.STUDENT_KD if teacher else ModelName.STUDENT_SCRATCH
    train = kd_training_set(cfg, data) if data.unlabelled is not None else None
    stage_student(cfg, data, run_stamp(), name, teacher, args.out, train=train)
    print(f"student written to {args.out}")
    return 0


def check_teacher_labels(teacher: list[str], data: list[str], path: Path) -> None:
    if teacher != data:
        raise ValueError(f"teacher {path} knows labels {teacher}, the data has {data}")


def run_stamp() -> str:
    return time.strftime("%Y%m%d%H%M%S")


def run_eval(args: argparse.Namespace) -> int:
    require_extra("train", "torch")
    from cloud.training.scoring import evaluate_model

    params = params_from_args(args)
    result = evaluate_model(
        args.model, args.data, params.test_where, params.val_where, params.seed, args.all
    )
    print(json.dumps(result, indent=2))
    return 0


def run_export(args: argparse.Namespace) -> int:
    require_extra("train", "torch")
    from cloud.training.export import export_model

    for path in export_model(args.checkpoint, args.out, args.int8, args.data):
        print(f"wrote {path}")
    return 0
