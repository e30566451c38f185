"""`vigil train pipeline`: teacher, student without KD, KD student, test, export, report.

The teacher is a kind from `cloud.teachers` (`cnn3d` on pixels, `pose` on landmarks);
the student and the KD loss see only its logits, so everything after it is the same
for both. With `unlabeled`, a fourth model, `student_kd_unlabeled`, is distilled on the
training windows plus windows of unlabelled videos that only the teacher labels.

Every stage writes a self-describing checkpoint into the run directory; a rerun with the
same arguments reuses finished stages and resumes the one in progress.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cloud.checkpoint import Checkpoint, load_checkpoint, model_from_checkpoint, save_checkpoint
from cloud.data import PoseOptions, PreparedData, prepare_data
from cloud.export import export_onnx, ort_latency_ms, quantize_int8
from cloud.metrics import EvalResult, evaluate_logits, report_entry
from cloud.model_card import render_model_card
from cloud.models import ModelConfig, build_model, count_macs, count_params, student_config
from cloud.plots import plot_confusion, plot_curves
from cloud.pose.extract import landmark_ms_per_frame
from cloud.pose.features import PoseFeatureSpec
from cloud.run_dir import claim_run_dir, write_json, write_text
from cloud.teachers import TeacherInput, build_teacher, teacher_kind
from cloud.trainer import (
    TrainConfig,
    TrainResult,
    predict_logits,
    seed_everything,
    train_model,
    world,
)
from cloud.windows import TwoViewWindows
from shared.labels import LabelSet
from shared.modelmeta import ModelMetadata
from shared.motion_crop import student_crop
from shared.preprocess import InputSpec

log = logging.getLogger(__name__)

SWEEP_TEMPERATURES = (1.0, 2.0, 4.0, 8.0)
SWEEP_LAMBDAS = (0.1, 0.5)


@dataclass
class PipelineConfig:
    data: Path
    out: Path
    test_where: str | None = None
    val_where: str | None = None
    epochs: int = 30
    teacher_epochs: int | None = None
    sweep: bool = False
    seed: int = 0
    teacher: str = "cnn3d"
    temperature: float = 4.0
    lam: float = 0.1
    clip_seconds: float = 1.8
    teacher_frames: int = 16
    teacher_size: int = 112
    student_frames: int = 8
    student_size: int = 32
    student_crop: str = "none"  # none | motion (shared.motion_crop, on the edge too)
    hop_s: float = 0.5
    num_draws: int = 2
    time_jitter_s: float = 0.0  # each draw moves its window by up to this either way
    batch_size: int = 32
    lr: float = 3e-3
    patience: int = 8
    int8: bool = False
    device: str = "cpu"
    workers: int = 0
    pose_features: str = "world"  # world | image | both (cloud.pose.features)
    unlabeled: Path | None = None  # videos without labels for the KD term
    pose_cache: Path | None = None  # None: $VIGIL_POSE_CACHE or ~/.cache/vigil/pose
    pose_workers: int = 0  # landmark extraction processes; 0: one per CPU core
    extra: dict[str, Any] = field(default_factory=dict)

    def identity(self) -> dict[str, Any]:
        """What makes two runs the same run (the output folder aside)."""
        values = asdict(self)
        # A run may resume elsewhere, with another cache or other worker counts.
        for where_it_runs in ("out", "device", "workers", "pose_cache", "pose_workers"):
            values.pop(where_it_runs)
        values["data"] = str(Path(self.data).resolve())
        # Left out when unused, so that runs made before these options still resume.
        if self.unlabeled is not None:
            values["unlabeled"] = str(Path(self.unlabeled).resolve())
        else:
            values.pop("unlabeled")
        if self.teacher != "pose":
            values.pop("pose_features")  # only the pose teacher reads it
        if self.student_crop == "none":
            values.pop("student_crop")
        if self.time_jitter_s == 0.0:
            values.pop("time_jitter_s")
        return values

    def pose_options(self) -> PoseOptions | None:
        """Landmark tracks are extracted only for a pose teacher."""
        if self.teacher != "pose":
            return None
        return PoseOptions(PoseFeatureSpec(self.pose_features), self.pose_cache, self.pose_workers)

    def specs(self) -> tuple[InputSpec, InputSpec]:
        teacher = InputSpec(
            frames=self.teacher_frames,
            height=self.teacher_size,
            width=self.teacher_size,
            clip_seconds=self.clip_seconds,
        )
        student = InputSpec(
            frames=self.student_frames,
            height=self.student_size,
            width=self.student_size,
            clip_seconds=self.clip_seconds,
            crop=student_crop(self.student_crop),
        )
        return teacher, student

    def train_config(self, epochs: int, loss: str = "ce", **overrides: Any) -> TrainConfig:
        values: dict[str, Any] = {
            "epochs": epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "patience": self.patience,
            "loss": loss,
            "temperature": self.temperature,
            "lam": self.lam,
            "seed": self.seed,
            "device": self.device,
            "workers": self.workers,
        }
        return TrainConfig(**{**values, **overrides})


@dataclass
class Trained:
    """A model as the pipeline keeps it: weights, how it was made, how long it took."""

    name: str
    view: str
    checkpoint: Checkpoint
    seconds: float
    kd: dict[str, float] | None = None

    @property
    def model(self) -> nn.Module:
        return model_from_checkpoint(self.checkpoint)


def run_pipeline(cfg: PipelineConfig) -> dict[str, Any]:
    """The whole pipeline; returns the report it also writes to `cfg.out/report.json`."""
    state = claim_run_dir(cfg.out, cfg.identity())
    run_id = state.get("run_id") or time.strftime("%Y%m%d%H%M%S")
    write_json(cfg.out / "run.json", {**state, "run_id": run_id})
    data = prepare_run_data(cfg)
    teacher = stage_teacher(cfg, data, run_id, cfg.out / "teacher.pt")
    scratch = stage_student(cfg, data, run_id, "student_scratch", None)
    gate = teacher_gate(teacher, scratch)
    print(gate["message"], flush=True)
    models = [teacher, scratch, stage_student(cfg, data, run_id, "student_kd", teacher)]
    if data.unlabelled is not None:
        with_unlabelled = kd_training_set(cfg, data)
        models.append(
            stage_student(cfg, data, run_id, "student_kd_unlabeled", teacher, train=with_unlabelled)
        )
    return finish(cfg, data, models, gate)


def prepare_run_data(cfg: PipelineConfig) -> PreparedData:
    """The run's windows, the student's view of each computed once."""
    data = run_windows(cfg)
    for split in (data.train, data.val, data.test):
        split.materialize("student", workers=cfg.workers)
    return data


def run_windows(cfg: PipelineConfig) -> PreparedData:
    """The run's windows (its hop, splits and augmentation draws), views computed lazily."""
    teacher_spec, student_spec = cfg.specs()
    data = prepare_data(
        cfg.data,
        teacher_spec,
        student_spec,
        cfg.test_where,
        cfg.val_where,
        cfg.seed,
        cfg.hop_s,
        cfg.num_draws,
        cfg.time_jitter_s,
        pose=cfg.pose_options(),
        unlabeled=cfg.unlabeled,
    )
    unlabelled = len(data.unlabelled) if data.unlabelled is not None else 0
    log.info(
        "windows: train %d, val %d, test %d, unlabelled %d",
        *(len(data.train), len(data.val), len(data.test), unlabelled),
    )
    return data


def kd_training_set(cfg: PipelineConfig, data: PreparedData) -> TwoViewWindows:
    """The training windows followed by the unlabelled ones (label -1: KD term only)."""
    assert data.unlabelled is not None
    joined = data.train.joined(data.unlabelled)
    joined.materialize("student", workers=cfg.workers)
    return joined


def view_of(ckpt: Checkpoint) -> str:
    """Which view of the windows a checkpoint reads (a teacher's kind says; students: pixels)."""
    if ckpt.role != "teacher":
        return "student"
    return teacher_kind(str(ckpt.train_config.get("teacher_kind", "cnn3d"))).view


def stage_teacher(cfg: PipelineConfig, data: PreparedData, run_id: str, path: Path) -> Trained:
    """Train the teacher (or load it when `path` already holds it) and save it to `path`."""
    if path.exists():
        ckpt = load_checkpoint(path)
        return Trained("teacher", view_of(ckpt), ckpt, float(ckpt.train_config.get("seconds", 0)))
    teacher_spec, _ = cfg.specs()
    kind = teacher_kind(cfg.teacher)
    request = TeacherInput(len(data.labels), teacher_spec, PoseFeatureSpec(cfg.pose_features))
    seed_everything(cfg.seed)  # the initial weights depend on the seed alone
    model_cfg, model = build_teacher(cfg.teacher, request)
    train_cfg = cfg.train_config(cfg.teacher_epochs or cfg.epochs, label_smoothing=0.1)
    result = train_model(
        model,
        kind.view,
        data.train,
        data.val,
        data.labels,
        train_cfg,
        resume_path=path.with_suffix(".resume.pt"),
        log_path=path.parent / "train_log.jsonl",
        name="teacher",
    )
    # The kind (and the pose features) let the checkpoint be scored on its own later.
    extra = {"teacher_kind": cfg.teacher, "seconds": result.seconds}
    if kind.view == "pose":
        extra["pose_features"] = cfg.pose_features
    version = f"teacher-{run_id}"
    ckpt = make_checkpoint(
        "teacher", model_cfg, result, data.labels, teacher_spec, train_cfg, version, extra=extra
    )
    if world()[0] == 0:
        save_checkpoint(ckpt, path)
        path.with_suffix(".resume.pt").unlink(missing_ok=True)
    return Trained("teacher", kind.view, ckpt, result.seconds)


def stage_student(
    cfg: PipelineConfig,
    data: PreparedData,
    run_id: str,
    name: str,
    teacher: Trained | None,
    path: Path | None = None,
    train: TwoViewWindows | None = None,
) -> Trained:
    """Train a student, distilled from `teacher` when given, and save it (default RUN/NAME.pt).

    `train` replaces the training windows (the labelled ones plus unlabelled ones).
    """
    path = path or cfg.out / f"{name}.pt"
    train = train or data.train
    if path.exists():
        ckpt = load_checkpoint(path)
        return Trained(
            name,
            "student",
            ckpt,
            float(ckpt.train_config.get("seconds", 0.0)),
            ckpt.train_config.get("kd"),
        )
    started = time.monotonic()
    bank = teacher_bank(cfg, teacher, train) if teacher is not None else None
    bank_seconds = time.monotonic() - started
    options = kd_options(cfg) if teacher is not None else [(cfg.temperature, cfg.lam)]
    best: tuple[TrainResult, ModelConfig, TrainConfig] | None = None
    sweep: list[dict[str, float]] = []
    for temperature, lam in options:
        trained = train_student_once(cfg, data, train, bank, temperature, lam, name)
        sweep.append(
            {"temperature": temperature, "lam": lam, "val_macro_f1": trained[0].best_val_f1}
        )
        if best is None or trained[0].best_val_f1 > best[0].best_val_f1:
            best = trained
    assert best is not None
    result, model_cfg, train_cfg = best
    # One training's cost (the teacher's logits included), whatever the sweep tried.
    seconds = bank_seconds + result.seconds
    kd = kd_summary(teacher, train_cfg, sweep) if teacher is not None else None
    _, student_spec = cfg.specs()
    teacher_version = teacher.checkpoint.metadata.model_version if teacher else None
    ckpt = make_checkpoint(
        "student",
        model_cfg,
        result,
        data.labels,
        student_spec,
        train_cfg,
        f"{name.replace('_', '-')}-{run_id}",
        teacher_version,
        extra={"seconds": seconds, "kd": kd},
    )
    if world()[0] == 0:
        save_checkpoint(ckpt, path)
    return Trained(name, "student", ckpt, seconds, kd)


def kd_options(cfg: PipelineConfig) -> list[tuple[float, float]]:
    """The (T, lam) pairs to try: the sweep, or the configured pair."""
    if not cfg.sweep:
        return [(cfg.temperature, cfg.lam)]
    return [(t, lam) for t in SWEEP_TEMPERATURES for lam in SWEEP_LAMBDAS]


def kd_summary(teacher: Trained, train_cfg: TrainConfig, sweep: list[dict[str, float]]) -> dict:
    return {
        "temperature": train_cfg.temperature,
        "lam": train_cfg.lam,
        "teacher": teacher.checkpoint.metadata.model_version,
        "sweep": sweep,
    }


def train_student_once(
    cfg: PipelineConfig,
    data: PreparedData,
    train: TwoViewWindows,
    bank: torch.Tensor | None,
    temperature: float,
    lam: float,
    name: str,
) -> tuple[TrainResult, ModelConfig, TrainConfig]:
    model_cfg, model = new_student(cfg, len(data.labels))
    loss = "kd" if bank is not None else "ce"
    train_cfg = cfg.train_config(cfg.epochs, loss, temperature=temperature, lam=lam)
    run_name = f"{name}(T={temperature:g},lam={lam:g})" if bank is not None else name
    result = train_model(
        model,
        "student",
        train,
        data.val,
        data.labels,
        train_cfg,
        teacher_bank=bank,
        log_path=cfg.out / "train_log.jsonl",
        name=run_name,
    )
    return result, model_cfg, train_cfg


def new_student(cfg: PipelineConfig, num_labels: int) -> tuple[ModelConfig, nn.Module]:
    """A student's initial weights: the seed's alone, whatever ran before in the process.

    So every student of a run (without KD, with KD, each sweep point) starts from the same
    weights, and a comparison between them measures the loss, not the draw of the init.
    """
    _, spec = cfg.specs()
    model_cfg = student_config(num_labels, frames=spec.frames, size=spec.height)
    seed_everything(cfg.seed)
    return model_cfg, build_model(model_cfg)


def teacher_bank(cfg: PipelineConfig, teacher: Trained, train: TwoViewWindows) -> torch.Tensor:
    """The teacher's logits for every (training window, augmentation draw), computed once.

    Epoch e trains on draw e % num_draws, so the teacher runs num_draws times per window
    instead of once per window per epoch: this keeps KD close to the cost of plain
    training (the product's target is at most 1.5x). A pose teacher sees the landmarks
    of the student's augmented window, without its own skeleton-only augmentation.
    """
    model = teacher.model.to(cfg.device)
    rows = []
    with train.without_pose_extras():
        for draw in range(train.num_draws):
            train.set_epoch(draw)
            logits = predict_logits(model, train, teacher.view, workers=cfg.workers)
            rows.append(torch.from_numpy(logits))
    bank = torch.stack(rows, dim=1)  # windows, draws, classes
    return bank.reshape(-1, bank.shape[-1])


def teacher_gate(teacher: Trained, scratch: Trained) -> dict[str, Any]:
    """Is the teacher better than the student alone on validation? Distilling a worse one hurts."""
    teacher_f1 = best_val_f1(teacher.checkpoint)
    student_f1 = best_val_f1(scratch.checkpoint)
    better = teacher_f1 > student_f1
    verdict = "better than" if better else "NOT better than"
    message = (
        f"teacher gate: teacher val macro-F1 {teacher_f1:.3f} is {verdict} the student without "
        f"KD ({student_f1:.3f})" + ("" if better else "; distillation from it may hurt")
    )
    return {
        "teacher_better": better,
        "teacher_val_f1": teacher_f1,
        "student_val_f1": student_f1,
        "message": message,
    }


def best_val_f1(ckpt: Checkpoint) -> float:
    return max((row.get("val_macro_f1", -1.0) for row in ckpt.history), default=-1.0)


def make_checkpoint(
    role: str,
    model_cfg: ModelConfig,
    result: TrainResult,
    labels: LabelSet,
    spec: InputSpec,
    train_cfg: TrainConfig,
    version: str,
    teacher_version: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Checkpoint:
    metadata = ModelMetadata.for_labels(
        labels,
        model_version=version,
        teacher_version=teacher_version,
        input=spec,
        architecture=model_cfg.arch,
        metrics={"val_macro_f1": result.best_val_f1, "best_epoch": float(result.best_epoch)},
    )
    return Checkpoint(
        role=role,
        model_config=model_cfg,
        state_dict=result.state_dict,
        metadata=metadata,
        train_config={**train_cfg.to_dict(), **(extra or {})},
        history=result.history,
    )


def evaluate_trained(trained: Trained, data: PreparedData) -> EvalResult:
    logits = predict_logits(trained.model, data.test, trained.view)
    return evaluate_logits(logits, data.test.labels(), data.test.clip_ids(), data.labels)


def finish(cfg: PipelineConfig, data: PreparedData, models: list[Trained], gate: dict) -> dict:
    """Test every model, export the student (and the teacher, for its latency), write the report."""
    results = {m.name: evaluate_trained(m, data) for m in models}
    exported = pick_export(models)
    report: dict[str, Any] = {"exported": exported.name, "teacher_gate": gate}
    for trained in models:
        report[trained.name] = entry_for(cfg, trained, results[trained.name])
    report["timing"] = timing(models)
    report["windows"] = {
        "train": len(data.train),
        "val": len(data.val),
        "test": len(data.test),
        "unlabelled": len(data.unlabelled) if data.unlabelled is not None else 0,
    }
    report["teacher_kind"] = cfg.teacher
    report["teacher_cost"] = teacher_cost(cfg, data, report["teacher"])
    with_metrics = attach_test_metrics(exported, results[exported.name])
    export_onnx(with_metrics, cfg.out / "student.onnx")
    if cfg.int8:
        report["student_int8"] = int8_entry(cfg, data, with_metrics)
    write_outputs(cfg, data, models, results, exported, report)
    return report


def teacher_cost(cfg: PipelineConfig, data: PreparedData, entry: dict[str, Any]) -> dict:
    """What labelling one window costs the teacher, in ms on one CPU thread.

    A pose teacher first runs MediaPipe on each of the window's frames (timed now on a
    training video, median per frame), then its classifier; a cnn3d teacher is its
    network. `extraction_ms_per_frame` is what extracting the tracks cost (wall time,
    whatever else ran then), kept for the record.
    """
    classifier_ms = entry["ort_latency_ms"]
    frames = cfg.specs()[0].frames
    per_frame = extraction = None
    if data.train.pose is not None:
        per_frame = landmark_ms_per_frame(data.train.records[0].path)
        extraction = data.train.pose.ms_per_frame()
    return {
        "kind": cfg.teacher,
        "ms_per_window": (per_frame or 0.0) * frames + classifier_ms,
        "classifier_ms": classifier_ms,
        "landmarks_ms_per_frame": per_frame,
        "extraction_ms_per_frame": extraction,
        "frames_per_window": frames,
    }


def pick_export(models: list[Trained]) -> Trained:
    """Ship the KD student unless the student without KD validated better."""
    students = [m for m in models if m.view == "student"]
    return max(reversed(students), key=lambda m: best_val_f1(m.checkpoint))


def attach_test_metrics(trained: Trained, result: EvalResult) -> Checkpoint:
    ckpt = trained.checkpoint
    metrics = {
        **ckpt.metadata.metrics,
        "test_accuracy_clip": result.accuracy_clip,
        "test_macro_f1": result.macro_f1,
        "test_fall_recall": result.fall_recall,
    }
    metadata = ckpt.metadata.model_copy(update={"metrics": metrics})
    return Checkpoint(
        ckpt.role, ckpt.model_config, ckpt.state_dict, metadata, ckpt.train_config, ckpt.history
    )


def entry_for(cfg: PipelineConfig, trained: Trained, result: EvalResult) -> dict[str, Any]:
    model = trained.model
    shape = (1, *trained.checkpoint.model_config.input_shape)
    onnx_path = cfg.out / f"{trained.name}.latency.onnx"
    export_onnx(trained.checkpoint, onnx_path)
    latency = ort_latency_ms(onnx_path, runs=30, threads=1)["p50"]
    onnx_path.unlink()
    return report_entry(result, count_params(model), count_macs(model, shape), latency, trained.kd)


def timing(models: list[Trained]) -> dict[str, float | None]:
    seconds = {m.name: round(m.seconds, 2) for m in models}
    scratch, kd = seconds.get("student_scratch", 0.0), seconds.get("student_kd", 0.0)
    return {
        **{f"{k}_s": v for k, v in seconds.items()},
        "kd_over_scratch": round(kd / scratch, 3) if scratch > 0 else None,
    }


def int8_entry(cfg: PipelineConfig, data: PreparedData, ckpt: Checkpoint) -> dict[str, Any]:
    """Static QDQ int8 calibrated on training windows, scored on the test split."""
    from cloud.onnx_eval import evaluate_onnx

    calibration = np.stack(
        [data.train.view(i, "student", 0) for i in range(min(200, len(data.train)))]
    )
    path = quantize_int8(cfg.out / "student.onnx", calibration, cfg.out / "student.int8.onnx")
    result = evaluate_onnx(path, data.test, data.labels)
    entry = {
        "accuracy_clip": result.accuracy_clip,
        "macro_f1": result.macro_f1,
        "fall_recall": result.fall_recall,
        "accuracy_window": result.accuracy_window,
    }
    entry["ort_latency_ms"] = ort_latency_ms(path, runs=30, threads=1)["p50"]
    return entry


def write_outputs(
    cfg: PipelineConfig,
    data: PreparedData,
    models: list[Trained],
    results: dict[str, EvalResult],
    exported: Trained,
    report: dict,
) -> None:
    plot_curves({m.name: m.checkpoint.history for m in models}, cfg.out / "curves.png")
    plot_confusion(
        results[exported.name].confusion,
        list(data.labels.names),
        cfg.out / "confusion.png",
        f"{exported.name} on the test split",
    )
    run_info = {
        "data": str(cfg.data),
        "test_where": cfg.test_where,
        "val_where": cfg.val_where,
        "teacher_gate": report["teacher_gate"],
        "teacher_kind": cfg.teacher,
        "student_input": exported.checkpoint.metadata.input.model_dump(),
        "labels": list(data.labels.names),
        "exported": exported.name,
    }
    write_text(cfg.out / "model_card.md", render_model_card(report, run_info))
    write_json(cfg.out / "report.json", report)
