"""Teachers by kind, picked from one registry like the losses.

A teacher here is anything that, for a training window, gives logits over the label
set. `cnn3d` learns from the full-resolution pixels (the windows' `teacher` view);
`pose` classifies MediaPipe landmarks of the full-resolution frames (the `pose` view,
see cloud.training.pose). The student and the KD loss only ever see the logits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from cloud.training.checkpoint import Checkpoint
from cloud.training.networks import ModelConfig, build_model, teacher_config
from cloud.training.pose.features import PoseFeatureSpec
from cloud.training.pose.model import pose_teacher_config
from shared.preprocess import InputSpec


@dataclass(frozen=True)
class TeacherInput:
    """What a teacher is built for: the classes and its window (and, for `pose`, features)."""

    num_classes: int
    spec: InputSpec
    pose: PoseFeatureSpec = field(default_factory=PoseFeatureSpec)


TeacherFactory = Callable[[TeacherInput], tuple[ModelConfig, nn.Module]]


@dataclass(frozen=True)
class TeacherKind:
    view: str  # which view of the windows the teacher reads
    build: TeacherFactory


TEACHERS: dict[str, TeacherKind] = {}


def register_teacher(kind: str, view: str) -> Callable[[TeacherFactory], TeacherFactory]:
    def add(factory: TeacherFactory) -> TeacherFactory:
        TEACHERS[kind] = TeacherKind(view, factory)
        return factory

    return add


@register_teacher("cnn3d", view="teacher")
def cnn3d_teacher(request: TeacherInput) -> tuple[ModelConfig, nn.Module]:
    cfg = teacher_config(request.num_classes, frames=request.spec.frames, size=request.spec.height)
    return cfg, build_model(cfg)


@register_teacher("pose", view="pose")
def pose_teacher(request: TeacherInput) -> tuple[ModelConfig, nn.Module]:
    cfg = pose_teacher_config(request.num_classes, request.spec.frames, request.pose.channels)
    return cfg, build_model(cfg)


def teacher_kind(kind: str) -> TeacherKind:
    if kind not in TEACHERS:
        raise ValueError(f"unknown teacher kind {kind!r}; known: {sorted(TEACHERS)}")
    return TEACHERS[kind]


def build_teacher(kind: str, request: TeacherInput) -> tuple[ModelConfig, nn.Module]:
    return teacher_kind(kind).build(request)


def view_of(ckpt: Checkpoint) -> str:
    """Which view of the windows a checkpoint reads (a teacher's kind says; students: pixels)."""
    if ckpt.role != "teacher":
        return "student"
    return teacher_kind(str(ckpt.train_config.get("teacher_kind", "cnn3d"))).view
