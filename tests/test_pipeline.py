"""The distillation pipeline end to end on a tiny synthetic set, and its refusals."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

import cloud.training.trainer as trainer
from cloud.training.checkpoint import Checkpoint, load_checkpoint, model_from_checkpoint
from cloud.training.data import DatasetError, prepare_data
from cloud.training.params import TrainingParams
from cloud.training.pipeline import (
    SITE_STUDENT_MARGIN_F1,
    PipelineConfig,
    Trained,
    new_student,
    pick_export,
    run_pipeline,
)
from cloud.training.report import ModelName
from cloud.training.run_dir import RunDirError
from cloud.training.trainer import TrainConfig, TrainingError, TrainResult, train_model
from shared.cli import main as vigil
from shared.labels import DEFAULT_LABEL_SET, DEFAULT_LABELS
from shared.modelmeta import ModelMetadata
from shared.motion_crop import MotionCropSpec
from shared.synth import write_synth_dataset

REPO = Path(__file__).resolve().parents[1]
MODEL_KEYS = {
    "accuracy_window",
    "accuracy_clip",
    "macro_f1",
    "per_class_recall",
    "fall_recall",
    "fall_precision",
    "params",
    "macs",
    "ort_latency_ms",
    "kd",
}


@pytest.fixture(scope="module")
def tiny_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth")
    write_synth_dataset(root, clips_per_class=5, seed=11, size=64, seconds=2.4, fps=10.0)
    return root


def tiny_config(data: Path, out: Path, **overrides: object) -> PipelineConfig:
    values: dict = {
        "epochs": 2,
        "teacher_size": 48,
        "teacher_frames": 8,
        "student_size": 24,
        "batch_size": 16,
        "clip_seconds": 1.6,
        "test_where": "group=4",
        "val_where": "group=3",
    }
    values.update(overrides)
    return PipelineConfig(params=TrainingParams(**values), data=data, out=out)


@pytest.fixture(scope="module")
def tiny_run(tiny_synth: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "run"
    run_pipeline(tiny_config(tiny_synth, out))
    return out


def test_pipeline_writes_every_file(tiny_run: Path) -> None:
    for name in (
        "teacher.pt",
        "student_scratch.pt",
        "student_kd.pt",
        "student.onnx",
        "report.json",
        "curves.png",
        "confusion.png",
        "model_card.md",
    ):
        assert (tiny_run / name).stat().st_size > 0, name
    report = json.loads((tiny_run / "report.json").read_text())
    for model in ("teacher", "student_scratch", "student_kd"):
        assert MODEL_KEYS <= set(report[model]), model
    assert report["student_kd"]["kd"]["temperature"] == 4.0
    assert report["student_kd"]["params"] < report["teacher"]["params"]
    assert report["timing"]["kd_over_scratch"] > 0
    assert "teacher gate" in report["teacher_gate"]["message"]


def test_exported_student_runs_and_describes_itself(tiny_run: Path) -> None:
    session = ort.InferenceSession(str(tiny_run / "student.onnx"))
    meta = ModelMetadata.from_properties(session.get_modelmeta().custom_metadata_map)
    assert (meta.input.frames, meta.input.height) == (8, 24)
    assert "falling" in meta.fall_labels
    assert "test_macro_f1" in meta.metrics
    batch = np.zeros((3, 3, 8, 24, 24), np.float32)
    assert session.run(None, {"input": batch})[0].shape == (3, len(meta.labels))


def test_a_different_run_in_the_same_folder_is_refused(tiny_synth: Path, tiny_run: Path) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in tiny_run.iterdir()}
    with pytest.raises(RunDirError, match="different run"):
        run_pipeline(tiny_config(tiny_synth, tiny_run, seed=5))
    assert {p.name: p.stat().st_mtime_ns for p in tiny_run.iterdir()} == before


# Runs `vigil train ...` (argv[2:]) and SIGKILLs itself as the KD training number argv[1]
# (counting sweep points) starts its second epoch: a real kill at a known point.
KILLED_RUN = """
import os, signal, sys
import cloud.training.trainer as trainer
from shared.cli import main

kill_at, real, started = int(sys.argv[1]), trainer.train_epoch, []

def train_epoch(model, data, view, loss_fn, optimizer, schedule, cfg, epoch, bank):
    started.append(epoch) if cfg.loss == "kd" and epoch == 0 else None
    if cfg.loss == "kd" and len(started) == kill_at and epoch == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(model, data, view, loss_fn, optimizer, schedule, cfg, epoch, bank)

trainer.train_epoch = train_epoch
sys.exit(main(sys.argv[2:]))
"""


def log_rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_a_run_killed_mid_sweep_resumes_each_model_where_it_stopped(
    tiny_synth: Path, tmp_path: Path
) -> None:
    cfg = tiny_config(tiny_synth, tmp_path / "run", sweep=True)
    p = cfg.params
    args = ["train", "pipeline", "--data", str(cfg.data), "--out", str(cfg.out), "--sweep"]
    for name in ("epochs", "teacher_size", "teacher_frames", "student_size", "batch_size",
                 "clip_seconds", "test_where", "val_where"):  # fmt: skip
        args += [f"--{name.replace('_', '-')}", str(getattr(p, name))]
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_RUN, "3", *args], cwd=REPO, capture_output=True, timeout=600
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    before = log_rows(cfg.out)
    done = {f: (cfg.out / f).stat().st_mtime_ns for f in ("teacher.pt", "student_scratch.pt")}
    assert not (cfg.out / "student_kd.pt").exists()

    run_pipeline(cfg)

    after = log_rows(cfg.out)[len(before) :]
    assert {row["model"].split("(")[0] for row in after} == {"student_kd"}  # nothing else again
    points = [f"student_kd(T={t:g},lam={lam:g})" for t in (1, 2, 4, 8) for lam in (0.1, 0.5)]
    # Points 1-2 had finished: not trained again; point 3 goes on after its first epoch.
    assert [r["epoch"] for r in after if r["model"] == points[2]] == [2]
    assert not [r for r in after if r["model"] in points[:2]]
    assert {r["model"] for r in after} == set(points[2:])
    for name, stamp in done.items():
        assert (cfg.out / name).stat().st_mtime_ns == stamp, f"{name} was trained again"
    report = json.loads((cfg.out / "report.json").read_text())
    assert len(report["student_kd"]["kd"]["sweep"]) == 8
    assert not list(cfg.out.glob("*.resume.pt"))  # each removed once its model was saved


class Killed(Exception):
    pass


def test_a_resumed_training_ends_exactly_where_an_unbroken_one_does(
    tiny_synth: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tiny_config(tiny_synth, Path("unused"))
    data = prepare_data(cfg.data, *cfg.specs(), cfg.params.test_where, cfg.params.val_where)
    train = TrainConfig(epochs=3, batch_size=16, patience=10)

    def fresh() -> nn.Module:
        return new_student(cfg, len(data.labels))[1]

    def run(resume: Path | None = None) -> TrainResult:
        split = (data.train, data.val, data.labels)
        return train_model(fresh(), "student", *split, train, resume_path=resume)

    whole = run()
    real = trainer.train_epoch

    def dies_at_epoch_3(*args: Any) -> dict[str, float]:
        if args[7] == 2:  # the epoch index: epochs 1-2 are done and saved
            raise Killed()
        return real(*args)

    monkeypatch.setattr(trainer, "train_epoch", dies_at_epoch_3)
    with pytest.raises(Killed):
        run(tmp_path / "s.resume.pt")
    monkeypatch.setattr(trainer, "train_epoch", real)
    torch.manual_seed(12345)  # whatever ran in between
    resumed = run(tmp_path / "s.resume.pt")
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3]
    assert [r["val_macro_f1"] for r in resumed.history] == [
        r["val_macro_f1"] for r in whole.history
    ]
    for name, weight in whole.state_dict.items():
        assert torch.equal(weight, resumed.state_dict[name]), name


def test_one_class_only_is_refused(tiny_synth: Path, tmp_path: Path) -> None:
    shutil.copytree(tiny_synth / "walking", tmp_path / "walking")
    cfg = tiny_config(tmp_path, tmp_path / "out", test_where=None, val_where=None)
    with pytest.raises(DatasetError, match="two classes"):
        prepare_data(cfg.data, *cfg.specs())
    assert vigil(["dataset", "info", str(tmp_path)]) == 0


def test_train_teacher_alone_writes_a_loadable_teacher(tiny_synth: Path, tmp_path: Path) -> None:
    out = tmp_path / "teacher.pt"
    args = ["train", "teacher", "--data", str(tiny_synth), "--out", str(out), "--epochs", "1",
            "--teacher-size", "48", "--teacher-frames", "8", "--clip-seconds", "1.6",
            "--test-where", "group=4", "--val-where", "group=3"]  # fmt: skip
    assert vigil(args) == 0
    ckpt = load_checkpoint(out)
    assert ckpt.role == "teacher" and ckpt.metadata.input.height == 48
    assert ckpt.metadata.labels == list(DEFAULT_LABELS)  # the data's labels, saved with it
    assert len(ckpt.history) == 1


def test_teacher_with_other_labels_is_refused(
    tiny_synth: Path, tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for label in ("walking", "falling"):
        shutil.copytree(tiny_synth / label, tmp_path / "data" / label)
    code = vigil(
        [
            "train",
            "student",
            "--data",
            str(tmp_path / "data"),
            "--out",
            str(tmp_path / "s.pt"),
            "--teacher-ckpt",
            str(tiny_run / "teacher.pt"),
            "--epochs",
            "1",
            "--student-size",
            "24",
            "--teacher-size",
            "48",
            "--teacher-frames",
            "8",
        ]
    )
    assert code == 2
    assert "knows labels" in capsys.readouterr().err
    assert not (tmp_path / "s.pt").exists()


class NaNModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.mean(dim=(1, 2, 3, 4)) * self.w * float("nan")).unsqueeze(1).repeat(1, 8)


def test_a_run_is_its_settings_and_data_wherever_it_runs(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path, tmp_path / "run")
    elsewhere = PipelineConfig(cfg.params, tmp_path, tmp_path / "b", device="cuda", workers=4)
    assert elsewhere.identity() == cfg.identity()
    assert cfg.identity()["params"] == cfg.params.model_dump(mode="json")
    other = tiny_config(tmp_path, tmp_path / "run", hop_s=0.25)
    assert other.identity() != cfg.identity()


def test_every_student_of_a_run_starts_from_the_same_weights(tmp_path: Path) -> None:
    cfg = PipelineConfig(TrainingParams(seed=3), data=tmp_path, out=tmp_path / "run")
    _, first = new_student(cfg, 5)
    torch.rand(1000)  # a teacher trained in between draws from the same generator
    _, second = new_student(cfg, 5)
    _, other_seed = new_student(PipelineConfig(TrainingParams(seed=4), tmp_path, tmp_path / "r"), 5)
    for name, weight in first.state_dict().items():
        assert torch.equal(weight, second.state_dict()[name]), name
    assert not all(
        torch.equal(w, other_seed.state_dict()[n]) for n, w in first.state_dict().items()
    )


def students_validated(tmp_path: Path, **val_f1: float) -> list[Trained]:
    """Students (real checkpoints) whose best validation macro-F1 is as given, by name."""
    cfg = PipelineConfig(TrainingParams(seed=3), data=tmp_path, out=tmp_path / "run")
    model_cfg, model = new_student(cfg, len(DEFAULT_LABELS))
    _, spec = cfg.specs()
    meta = ModelMetadata.for_labels(DEFAULT_LABEL_SET, model_version="s-1", input=spec)
    out = []
    for name, f1 in val_f1.items():
        history = [{"epoch": 1, "val_macro_f1": f1 - 0.2}, {"epoch": 2, "val_macro_f1": f1}]
        ckpt = Checkpoint("student", model_cfg, model.state_dict(), meta, {}, history)
        out.append(Trained(ModelName(name), "student", ckpt, seconds=1.0))
    return out


def test_the_best_validated_student_ships_when_no_site_footage_was_given(tmp_path: Path) -> None:
    assert pick_export(students_validated(tmp_path, student_scratch=0.9, student_kd=0.8)).name == (
        ModelName.STUDENT_SCRATCH
    )
    tie = students_validated(tmp_path, student_scratch=0.9, student_kd=0.9)
    assert pick_export(tie).name is ModelName.STUDENT_KD


def test_the_student_distilled_on_site_footage_ships_unless_another_is_clearly_better(
    tmp_path: Path,
) -> None:
    near = 0.95 - SITE_STUDENT_MARGIN_F1 + 0.01
    close = students_validated(
        tmp_path, student_scratch=0.95, student_kd=0.9, student_kd_unlabeled=near
    )
    assert pick_export(close).name is ModelName.STUDENT_KD_UNLABELED
    far = 0.95 - SITE_STUDENT_MARGIN_F1 - 0.01
    clear = students_validated(
        tmp_path, student_scratch=0.95, student_kd=0.9, student_kd_unlabeled=far
    )
    assert pick_export(clear).name is ModelName.STUDENT_SCRATCH


def test_nan_loss_stops_training(tiny_synth: Path) -> None:
    cfg = tiny_config(tiny_synth, Path("unused"))
    data = prepare_data(cfg.data, *cfg.specs(), cfg.params.test_where, cfg.params.val_where)
    with pytest.raises(TrainingError, match="nan"):
        train_model(NaNModel(), "student", data.train, data.val, data.labels, TrainConfig(epochs=1))


@pytest.mark.slow
def test_torchrun_two_processes_train_a_loadable_checkpoint(
    tiny_synth: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ddp.pt"
    torchrun = Path(sys.executable).with_name("torchrun")
    vigil_bin = Path(sys.executable).with_name("vigil")
    cmd = [
        str(torchrun),
        "--nproc-per-node",
        "2",
        "--master-port",
        "29517",
        str(vigil_bin),
        "train",
        "student",
        "--no-kd",
        "--data",
        str(tiny_synth),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--student-size",
        "24",
        "--teacher-size",
        "48",
        "--teacher-frames",
        "8",
        "--clip-seconds",
        "1.6",
        "--test-where",
        "group=4",
        "--val-where",
        "group=3",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    ckpt = load_checkpoint(out)
    model = model_from_checkpoint(ckpt)
    assert ckpt.role == "student"
    assert model(torch.zeros(1, 3, 8, 24, 24)).shape == (1, len(ckpt.metadata.labels))


# --- the pose teacher (cloud.training.pose) through the same pipeline --------------------------


@pytest.fixture(scope="module")
def pose_run(upfall_tiny: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`--teacher pose` with unlabelled videos on two UP-Fall activities (conftest), for a
    student that sees the motion crop."""
    out = tmp_path_factory.mktemp("pose") / "run"
    args = ["train", "pipeline", "--data", str(upfall_tiny["data"]), "--out", str(out)]
    args += ["--teacher", "pose", "--test-where", "trial=3", "--val-where", "trial=2"]
    args += ["--epochs", "2", "--teacher-size", "48", "--teacher-frames", "8"]
    args += ["--student-size", "24", "--clip-seconds", "1.6", "--batch-size", "16"]
    args += ["--unlabeled", str(upfall_tiny["unlabeled"]), "--student-crop", "motion"]
    assert vigil(args) == 0
    return out


def test_a_student_trained_on_the_crop_tells_the_edge_to_crop(
    pose_run: Path, tiny_run: Path
) -> None:
    def exported(run: Path) -> tuple[ort.InferenceSession, ModelMetadata]:
        session = ort.InferenceSession(str(run / "student.onnx"))
        return session, ModelMetadata.from_properties(session.get_modelmeta().custom_metadata_map)

    session, meta = exported(pose_run)
    assert meta.input.crop == MotionCropSpec()
    assert exported(tiny_run)[1].input.crop is None
    batch = np.zeros((1, 3, 8, 24, 24), np.float32)
    assert session.run(None, {"input": batch})[0].shape == (1, len(meta.labels))
    run = json.loads((pose_run / "run.json").read_text())
    assert run["identity"]["params"]["student_crop"] == "motion"
    tiny = json.loads((tiny_run / "run.json").read_text())
    assert tiny["identity"]["params"]["student_crop"] == "none"


def test_a_pose_pipeline_writes_the_files_and_report_keys_of_a_cnn3d_one(
    pose_run: Path, tiny_run: Path
) -> None:
    pose_files = {p.name for p in pose_run.iterdir()}
    assert {p.name for p in tiny_run.iterdir()} | {"student_kd_unlabeled.pt"} == pose_files
    pose = json.loads((pose_run / "report.json").read_text())
    cnn3d = json.loads((tiny_run / "report.json").read_text())
    assert set(pose) == set(cnn3d) | {"student_kd_unlabeled"}
    for name in ("teacher", "student_scratch", "student_kd", "teacher_cost", "teacher_gate"):
        assert set(pose[name]) == set(cnn3d[name]), name
    assert set(pose["student_kd_unlabeled"]) == set(cnn3d["student_kd"])
    assert set(pose["timing"]) == set(cnn3d["timing"]) | {"student_kd_unlabeled_s"}
    assert (pose["teacher_kind"], cnn3d["teacher_kind"]) == ("pose", "cnn3d")
    cost = pose["teacher_cost"]
    assert cost["ms_per_window"] > cost["classifier_ms"] > 0 and cost["landmarks_ms_per_frame"] > 0
    assert cnn3d["teacher_cost"]["landmarks_ms_per_frame"] is None
    assert cnn3d["teacher_cost"]["ms_per_window"] == cnn3d["teacher"]["ort_latency_ms"]


def test_a_pose_teacher_checkpoint_is_scored_on_its_own(
    pose_run: Path, upfall_tiny: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    teacher = pose_run / "teacher.pt"
    assert vigil(["eval", str(teacher), "--data", str(upfall_tiny["data"]), "--all"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["n_clips"] == 6 and 0.0 <= scored["accuracy_clip"] <= 1.0
