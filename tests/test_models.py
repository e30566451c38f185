"""Teacher and student models, their size and cost, and self-describing checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cloud.training.checkpoint import (
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
)
from cloud.training.networks import (
    ModelConfig,
    build_model,
    count_macs,
    count_params,
    student_config,
    teacher_config,
)
from shared.labels import LabelSet
from shared.modelmeta import ModelMetadata
from shared.preprocess import InputSpec

LABELS = LabelSet.from_names(["walking", "sitting_down", "falling", "lying_on_floor"])


def tiny_student(num_classes: int = 4) -> ModelConfig:
    return ModelConfig("student", num_classes, 4, 16, 16, channels=(8, 16), dropout=0.0)


def make_checkpoint(cfg: ModelConfig, model: nn.Module) -> Checkpoint:
    spec = InputSpec(frames=cfg.frames, height=cfg.height, width=cfg.width)
    meta = ModelMetadata.for_labels(LABELS, model_version="s-1", teacher_version="t-1", input=spec)
    return Checkpoint(
        role="student",
        model_config=cfg,
        state_dict=model.state_dict(),
        metadata=meta,
        train_config={"epochs": 2, "loss": "kd", "lr": 1e-3, "channels": [8, 16]},
        history=[{"epoch": 1.0, "loss": 1.5}, {"epoch": 2.0, "loss": 0.9}],
    )


# --- models --------------------------------------------------------------------------


@pytest.mark.parametrize("num_classes", [2, 11])
def test_param_budgets(num_classes: int) -> None:
    student = count_params(build_model(student_config(num_classes)))
    teacher = count_params(build_model(teacher_config(num_classes)))
    assert 50_000 <= student <= 250_000
    assert 1_000_000 <= teacher <= 5_000_000


@pytest.mark.parametrize("cfg", [student_config(11), teacher_config(11)], ids=lambda c: c.arch)
def test_output_shape(cfg: ModelConfig) -> None:
    model = build_model(cfg).eval()
    with torch.no_grad():
        out = model(torch.randn(2, *cfg.input_shape))
    assert out.shape == (2, 11)
    assert torch.isfinite(out).all()


def test_odd_sizes_still_give_logits() -> None:
    cfg = ModelConfig("cnn3d", 3, frames=5, height=40, width=56, channels=(8, 16, 16))
    with torch.no_grad():
        assert build_model(cfg).eval()(torch.randn(1, *cfg.input_shape)).shape == (1, 3)


def test_unknown_arch_errors() -> None:
    with pytest.raises(ValueError, match="unknown architecture 'vit'.*'cnn3d'.*'student'"):
        build_model(ModelConfig("vit", 3, 8, 32, 32, (8,)))


def test_config_round_trips_through_plain_dict() -> None:
    cfg = teacher_config(5, frames=12, size=96)
    d = cfg.to_dict()
    assert d["channels"] == list(cfg.channels)
    assert ModelConfig.from_dict(d) == cfg


def test_count_macs_of_one_conv_matches_formula() -> None:
    conv = nn.Conv3d(4, 6, (3, 3, 3), padding=1, groups=2)
    # 6 outputs x 2x5x5 positions, each 4/2 inputs x 27 taps.
    assert count_macs(conv, (1, 4, 2, 5, 5)) == 6 * 2 * 5 * 5 * 2 * 27


def test_teacher_costs_far_more_than_student() -> None:
    s_cfg, t_cfg = student_config(8), teacher_config(8)
    student = build_model(s_cfg)
    s_macs = count_macs(student, (1, *s_cfg.input_shape))
    t_macs = count_macs(build_model(t_cfg), (1, *t_cfg.input_shape))
    assert s_macs > 0
    assert t_macs > 30 * s_macs
    assert student.training  # counting put it back in the mode it found it


def test_tiny_student_overfits_a_tiny_batch() -> None:
    torch.manual_seed(0)
    cfg = tiny_student()
    model = build_model(cfg)
    x = torch.randn(8, *cfg.input_shape)
    y = torch.arange(8) % cfg.num_classes
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = F.cross_entropy(model(x), y).item()
    for _ in range(150):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1 * first
    with torch.no_grad():
        assert (model.eval()(x).argmax(1) == y).all()


# --- checkpoints ---------------------------------------------------------------------


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    cfg = tiny_student()
    model = build_model(cfg).eval()
    ckpt = make_checkpoint(cfg, model)
    path = save_checkpoint(ckpt, tmp_path / "student.pt")
    loaded = load_checkpoint(path)
    x = torch.randn(3, *cfg.input_shape)
    with torch.no_grad():
        assert torch.equal(model_from_checkpoint(loaded)(x), model(x))
    assert loaded.model_config == cfg
    assert loaded.metadata == ckpt.metadata
    assert loaded.train_config == ckpt.train_config
    assert loaded.history == ckpt.history
    assert loaded.role == "student"


def test_checkpoint_loads_with_weights_only(tmp_path: Path) -> None:
    cfg = tiny_student()
    path = save_checkpoint(make_checkpoint(cfg, build_model(cfg)), tmp_path / "s.pt")
    raw = torch.load(path, weights_only=True)
    assert isinstance(raw["metadata"], str)
    assert raw["format"] == "vigil-checkpoint"


def test_model_from_checkpoint_is_in_eval_mode(tmp_path: Path) -> None:
    cfg = tiny_student()
    ckpt = make_checkpoint(cfg, build_model(cfg))
    assert not model_from_checkpoint(ckpt).training


@pytest.mark.parametrize(
    "content", [b"not a checkpoint at all", None], ids=["random-bytes", "foreign-torch-file"]
)
def test_loading_a_foreign_file_names_it(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "mystery.pt"
    if content is None:
        torch.save({"weights": torch.zeros(3)}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match="mystery.pt"):
        load_checkpoint(path)


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    cfg = tiny_student()
    ckpt = make_checkpoint(cfg, build_model(cfg))
    save_checkpoint(ckpt, tmp_path / "a.pt")
    save_checkpoint(ckpt, tmp_path / "a.pt")  # overwrite in place
    assert [p.name for p in tmp_path.iterdir()] == ["a.pt"]


def test_failed_save_keeps_old_file_and_no_temp(tmp_path: Path) -> None:
    cfg = tiny_student()
    ckpt = make_checkpoint(cfg, build_model(cfg))
    path = save_checkpoint(ckpt, tmp_path / "a.pt")
    before = path.read_bytes()
    ckpt.train_config = {"optimizer": object()}  # not JSON: must fail before touching a.pt
    with pytest.raises(TypeError):
        save_checkpoint(ckpt, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.pt"]


def test_metadata_must_match_the_model() -> None:
    cfg = tiny_student(num_classes=3)  # LABELS has 4
    with pytest.raises(CheckpointError, match="3 outputs"):
        make_checkpoint(cfg, build_model(cfg))
    with pytest.raises(CheckpointError, match="role"):
        Checkpoint(**{**vars(make_checkpoint(tiny_student(), nn.Linear(1, 1))), "role": "x"})
