"""Cloud subcommands: `vigil train ...`, `vigil eval`, `vigil export`, `vigil demo`.

Only argparse at import time: torch and the rest load inside the handlers, so these
commands are listed (and explain themselves) on an edge-only install too.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from shared.cli import require_extra
from shared.motion_crop import CROP_KINDS

# The kinds of cloud.teachers.TEACHERS, listed here so that parsing never imports torch.
TEACHER_KINDS = ("cnn3d", "pose")


def register(subparsers: argparse._SubParsersAction) -> None:
    register_train(subparsers)
    ev = subparsers.add_parser("eval", help="score a checkpoint or ONNX model on a dataset")
    ev.add_argument("model", type=Path, help="a .pt checkpoint or a .onnx student")
    ev.add_argument("--data", type=Path, required=True)
    add_split_args(ev)
    ev.add_argument("--all", action="store_true", help="score every clip, not the test split")
    ev.set_defaults(handler=run_eval)
    ex = subparsers.add_parser("export", help="export a student checkpoint to ONNX")
    ex.add_argument("checkpoint", type=Path)
    ex.add_argument("--out", type=Path, required=True)
    ex.add_argument("--int8", action="store_true", help="also write a static int8 (QDQ) model")
    ex.add_argument("--data", type=Path, help="calibration data for --int8")
    ex.set_defaults(handler=run_export)
    demo = subparsers.add_parser("demo", help="the whole loop on this machine")
    demo.add_argument("--quick", action="store_true", help="a smaller, faster run")
    demo.add_argument("--exit", action="store_true", help="exit when done instead of serving")
    demo.add_argument("--out", type=Path, default=Path("runs/demo"))
    demo.set_defaults(handler=run_demo)


def add_split_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--test-where", help="COL=VAL: manifest rows for the test split")
    parser.add_argument("--val-where", help="COL=VAL: manifest rows for the validation split")
    parser.add_argument("--seed", type=int, default=0)


def add_schedule_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="dataset folder")
    add_split_args(parser)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--patience", type=int, default=8, help="early-stopping epochs")
    parser.add_argument(
        "--augment-draws",
        type=int,
        default=2,
        help="augmented copies of each training window; epoch e trains on copy e mod N "
        "(more copies: less memorising on small data; the KD teacher runs once per copy)",
    )
    parser.add_argument(
        "--hop",
        type=float,
        default=0.5,
        help="seconds between training windows (denser windows show the student more "
        "phases of each motion, as the edge's own windows will fall)",
    )
    parser.add_argument(
        "--time-jitter",
        type=float,
        default=0.0,
        help="seconds: each augmentation draw moves its window by up to this either way, so "
        "the student sees motions at every phase, not only on the hop's grid (half the hop "
        "covers it)",
    )
    parser.add_argument("--clip-seconds", type=float, default=1.8)
    parser.add_argument("--teacher-size", type=int, default=112)
    parser.add_argument("--teacher-frames", type=int, default=16)
    parser.add_argument("--student-size", type=int, default=32)
    parser.add_argument("--student-frames", type=int, default=8)
    parser.add_argument(
        "--student-crop",
        default="none",
        choices=CROP_KINDS,
        help="motion: cut each frame to a box around what moves before downsampling "
        "(the edge does the same, from the model's metadata)",
    )
    parser.add_argument("--temperature", type=float, default=4.0, help="KD temperature T")
    parser.add_argument("--lam", type=float, default=0.1, help="weight of the hard-label CE")
    parser.add_argument("--sweep", action="store_true", help="try T in 1,2,4,8 x lam in .1,.5")
    parser.add_argument(
        "--teacher",
        dest="teacher_kind",
        default="cnn3d",
        choices=TEACHER_KINDS,
        help="cnn3d: a 3D CNN on the full-resolution pixels; pose: MediaPipe landmarks "
        "of the full-resolution frames and a skeleton classifier",
    )
    parser.add_argument(
        "--pose-features",
        default="world",
        choices=("world", "image", "both"),
        help="pose teacher: 3D world landmarks, image-plane landmarks, or both",
    )
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
    add_schedule_args(pipe)
    pipe.add_argument("--out", type=Path, required=True, help="run directory")
    pipe.add_argument("--teacher-epochs", type=int, help="default: --epochs")
    pipe.add_argument("--int8", action="store_true", help="also export a static int8 student")
    add_unlabeled_arg(pipe)
    pipe.set_defaults(handler=run_pipeline_cmd)
    teacher = sub.add_parser("teacher", help="train a teacher checkpoint")
    add_schedule_args(teacher)
    teacher.add_argument("--out", type=Path, required=True, help="checkpoint file (.pt)")
    teacher.set_defaults(handler=run_train_teacher)
    student = sub.add_parser("student", help="train a student checkpoint")
    add_schedule_args(student)
    student.add_argument("--out", type=Path, required=True, help="checkpoint file (.pt)")
    how = student.add_mutually_exclusive_group(required=True)
    how.add_argument("--teacher-ckpt", "--from-teacher", dest="teacher_ckpt", type=Path)
    how.add_argument("--no-kd", action="store_true", help="train on hard labels only")
    add_unlabeled_arg(student)
    student.set_defaults(handler=run_train_student)


def pipeline_config(args: argparse.Namespace, out: Path):  # noqa: ANN201 - lazy import
    from cloud.pipeline import PipelineConfig

    return PipelineConfig(
        data=args.data,
        out=out,
        test_where=args.test_where,
        val_where=args.val_where,
        epochs=args.epochs,
        teacher_epochs=getattr(args, "teacher_epochs", None),
        sweep=args.sweep,
        seed=args.seed,
        teacher=args.teacher_kind,
        temperature=args.temperature,
        lam=args.lam,
        clip_seconds=args.clip_seconds,
        hop_s=args.hop,
        time_jitter_s=args.time_jitter,
        teacher_frames=args.teacher_frames,
        teacher_size=args.teacher_size,
        student_frames=args.student_frames,
        student_size=args.student_size,
        student_crop=args.student_crop,
        batch_size=args.batch_size,
        lr=args.lr,
        patience=args.patience,
        num_draws=args.augment_draws,
        int8=getattr(args, "int8", False),
        device=args.device,
        workers=args.workers,
        pose_features=args.pose_features,
        unlabeled=getattr(args, "unlabeled", None),
        pose_cache=args.pose_cache,
    )


def run_pipeline_cmd(args: argparse.Namespace) -> int:
    require_extra("cloud", "torch")
    from cloud.pipeline import run_pipeline

    report = run_pipeline(pipeline_config(args, args.out))
    print(summary_table(report))
    print(f"run written to {args.out}")
    return 0


def summary_table(report: dict) -> str:
    rows = [f"{'model':<16} {'clip acc':>8} {'macro-F1':>8} {'fall rec':>8} {'ms/window':>9}"]
    for name in (
        "teacher",
        "student_scratch",
        "student_kd",
        "student_kd_unlabeled",
        "student_int8",
    ):
        entry = report.get(name)
        if entry:
            rows.append(
                f"{name:<16} {entry['accuracy_clip']:>8.3f} {entry['macro_f1']:>8.3f} "
                f"{entry['fall_recall']:>8.3f} {entry['ort_latency_ms']:>9.2f}"
            )
    return "\n".join(rows)


def init_distributed() -> None:
    """Join the process group when started by torchrun (gloo on CPU, NCCL on GPU)."""
    import torch
    import torch.distributed as dist

    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")


def run_train_teacher(args: argparse.Namespace) -> int:
    require_extra("cloud", "torch")
    from cloud.pipeline import run_windows, stage_teacher

    init_distributed()
    cfg = pipeline_config(args, args.out.parent)
    # The pipeline's own windows: the same hop and augmentation draws as a pipeline run.
    stage_teacher(cfg, run_windows(cfg), run_stamp(), args.out)
    print(f"teacher written to {args.out}")
    return 0


def run_train_student(args: argparse.Namespace) -> int:
    require_extra("cloud", "torch")
    from cloud.checkpoint import load_checkpoint
    from cloud.pipeline import (
        Trained,
        kd_training_set,
        prepare_run_data,
        stage_student,
        view_of,
    )

    if args.unlabeled and not args.teacher_ckpt:
        raise SystemExit("vigil: --unlabeled needs --teacher-ckpt (only a teacher labels them)")
    init_distributed()
    ckpt = load_checkpoint(args.teacher_ckpt) if args.teacher_ckpt else None
    if ckpt is not None:  # the teacher's own kind and features decide its view
        args.teacher_kind = ckpt.train_config.get("teacher_kind", "cnn3d")
        args.pose_features = ckpt.train_config.get("pose_features", args.pose_features)
        args.teacher_frames = ckpt.metadata.input.frames
        args.teacher_size = ckpt.metadata.input.height
    cfg = pipeline_config(args, args.out.parent)
    # The pipeline's own data step: the same hop and augmentation draws as a pipeline run.
    data = prepare_run_data(cfg)
    teacher = None
    if ckpt is not None:
        check_teacher_labels(ckpt.metadata.labels, list(data.labels.names), args.teacher_ckpt)
        teacher = Trained("teacher", view_of(ckpt), ckpt, 0.0)
    name = "student_kd" if teacher else "student_scratch"
    train = kd_training_set(cfg, data) if data.unlabelled is not None else None
    stage_student(cfg, data, run_stamp(), name, teacher, args.out, train=train)
    print(f"student written to {args.out}")
    return 0


def check_teacher_labels(teacher: list[str], data: list[str], path: Path) -> None:
    if teacher != data:
        raise ValueError(f"teacher {path} knows labels {teacher}, the data has {data}")


def run_stamp() -> str:
    import time

    return time.strftime("%Y%m%d%H%M%S")


def run_eval(args: argparse.Namespace) -> int:
    require_extra("cloud", "torch")
    from cloud.evaluate_cmd import evaluate_model

    result = evaluate_model(
        args.model, args.data, args.test_where, args.val_where, args.seed, args.all
    )
    print(json.dumps(result, indent=2))
    return 0


def run_export(args: argparse.Namespace) -> int:
    require_extra("cloud", "torch")
    from cloud.evaluate_cmd import export_model

    for path in export_model(args.checkpoint, args.out, args.int8, args.data):
        print(f"wrote {path}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    require_extra("cloud", "torch")
    from cloud.demo import run_demo as demo

    return demo(args.out, quick=args.quick, exit_when_done=args.exit)
