"""Teachers by kind, picked from one registry like the losses.

A teacher here is anything that, for a training window, gives logits over the label
set. `cnn3d` learns from the full-resolution pixels; other kinds (a pretrained pose
network plus a skeleton classifier) register themselves the same way.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from cloud.models import ModelConfig, build_model, teacher_config

TeacherFactory = Callable[[int, int, int], tuple[ModelConfig, nn.Module]]
TEACHERS: dict[str, TeacherFactory] = {}


def register_teacher(kind: str) -> Callable[[TeacherFactory], TeacherFactory]:
    def add(factory: TeacherFactory) -> TeacherFactory:
        TEACHERS[kind] = factory
        return factory

    return add


@register_teacher("cnn3d")
def cnn3d_teacher(num_classes: int, frames: int, size: int) -> tuple[ModelConfig, nn.Module]:
    cfg = teacher_config(num_classes, frames=frames, size=size)
    return cfg, build_model(cfg)


def build_teacher(
    kind: str, num_classes: int, frames: int, size: int
) -> tuple[ModelConfig, nn.Module]:
    if kind not in TEACHERS:
        raise ValueError(f"unknown teacher kind {kind!r}; known: {sorted(TEACHERS)}")
    return TEACHERS[kind](num_classes, frames, size)
