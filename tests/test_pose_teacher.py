"""The pose teacher on real UP-Fall clips: landmarks, training, KD, unlabelled video.

The whole pipeline with `--teacher pose` is in test_pipeline.py, beside the cnn3d run
whose files and report keys it must match.

Landmark tracks are cached on disk (`VIGIL_POSE_CACHE`, default ~/.cache/vigil/pose), so
only the first run on a machine pays for MediaPipe.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from cloud.training.data import PoseOptions, PreparedData, prepare_data
from cloud.training.losses import build_loss
from cloud.training.params import TrainingParams
from cloud.training.pipeline import PipelineConfig, Trained, teacher_bank
from cloud.training.pose.extract import PoseCache
from cloud.training.pose.skeleton import LEFT_HIP, RIGHT_HIP
from cloud.training.report import ModelName
from cloud.training.teachers import TeacherInput, build_teacher
from cloud.training.trainer import TrainConfig, train_model
from shared.preprocess import InputSpec

pytestmark = pytest.mark.realdata

TEACHER_SPEC = InputSpec(frames=8, height=32, width=32, clip_seconds=1.6)
STUDENT_SPEC = InputSpec(frames=8, height=24, width=24, clip_seconds=1.6)


def test_landmarks_find_the_person_and_the_hips_drop_in_a_fall(upfall_root: Path) -> None:
    video = upfall_root / "fall_forward_knees" / "s1_trial1_cam1.mp4"
    cache = PoseCache()
    track = cache.get(video)
    assert cache.path_for(video).is_file()
    assert len(track) == 115 and track.fps == pytest.approx(18.0, abs=0.1)
    assert track.present.mean() > 0.8
    hip_y = track.image[:, [LEFT_HIP, RIGHT_HIP], 1].mean(axis=1)  # image y points down
    first, last = hip_y[:18][track.present[:18]], hip_y[-18:][track.present[-18:]]
    assert last.mean() - first.mean() > 0.1  # a tenth of the frame's height lower
    world = track.world[track.present]
    assert np.abs(world[:, [LEFT_HIP, RIGHT_HIP]].mean(axis=1)).max() < 0.05  # hip-centred


@pytest.fixture(scope="module")
def tiny_pose_data(upfall_tiny: dict[str, Path]) -> PreparedData:
    return prepare_data(
        upfall_tiny["data"],
        TEACHER_SPEC,
        STUDENT_SPEC,
        test_where="trial=3",
        val_where="trial=2",
        pose=PoseOptions(workers=2),
        unlabeled=upfall_tiny["unlabeled"],
    )


def test_the_pose_teacher_trains_and_its_logits_feed_the_kd_loss(
    tiny_pose_data: PreparedData,
) -> None:
    data = tiny_pose_data
    request = TeacherInput(len(data.labels), TEACHER_SPEC)
    model_cfg, model = build_teacher("pose", request)
    assert data.train.with_views("pose")[0]["pose"].shape == model_cfg.input_shape
    cfg = TrainConfig(epochs=5, batch_size=16, lr=3e-3, warmup_epochs=1, patience=10)
    result = train_model(model, "pose", data.train, data.val, data.labels, cfg)
    assert len(result.history) == 5 and result.history[-1]["train_acc"] > 0.6
    model.load_state_dict(result.state_dict)
    teacher = Trained(ModelName.TEACHER, "pose", _checkpoint_like(model_cfg, model, data), 0.0)
    where = PipelineConfig(TrainingParams(), data=Path("."), out=Path("."))
    bank = teacher_bank(where, teacher, data.train)
    assert bank.shape == (len(data.train) * data.train.num_draws, len(data.labels))
    student_logits = torch.zeros(4, len(data.labels), requires_grad=True)
    labels = torch.tensor([0, 1, -1, -1])  # two windows nobody labelled
    loss = build_loss("kd", temperature=4.0, lam=0.1)(student_logits, labels, bank[:4])
    loss.backward()
    assert torch.isfinite(loss) and student_logits.grad is not None
    assert student_logits.grad[2:].abs().sum() > 0  # the unlabelled rows learn from the KL


def _checkpoint_like(model_cfg, model, data):  # test helper
    from cloud.training.pipeline import make_checkpoint
    from cloud.training.trainer import TrainResult

    result = TrainResult(state_dict=model.state_dict())
    return make_checkpoint(
        "teacher", model_cfg, result, data.labels, TEACHER_SPEC, TrainConfig(), "t",
        extra={"teacher_kind": "pose"},
    )  # fmt: skip


def test_unlabelled_windows_join_the_kd_set_without_labels(tiny_pose_data: PreparedData) -> None:
    data = tiny_pose_data
    assert data.unlabelled is not None and len(data.unlabelled) > 0
    assert (data.unlabelled.labels() == -1).all()
    joined = data.train.joined(data.unlabelled)
    assert len(joined) == len(data.train) + len(data.unlabelled)
    assert (joined.labels()[: len(data.train)] == data.train.labels()).all()
    item = joined.with_views("pose", "student")[len(joined) - 1]
    assert item["label"] == -1 and torch.isfinite(item["pose"]).all()
