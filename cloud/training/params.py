"""The training settings, declared once: `TrainingParams`.

`vigil train ...` generates its flags from these fields (`add_training_flags`), a
training job (`TrainingJobCreate`) is these fields plus its dataset and promotion, the
demo's plans and `bench/kd_quality.py` hold one, and every run records the one it ran
with (`run.json`, `report.json`). Adding a setting is adding a field here.

Plain pydantic (no torch), so the service can validate a job without the training stack.
"""

from __future__ import annotations

import argparse
import types
from enum import StrEnum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from shared.datasets.splits import parse_where
from shared.messages import NO_NUL

# The trainer seeds torch (64 bits) with seed * 1_000_003 + ...: a larger seed would be
# accepted here and fail the run later.
SEED_MAX = 2**32 - 1


class TeacherKind(StrEnum):
    """The teachers of `cloud.training.teachers`, named here so parsing never imports torch."""

    CNN3D = "cnn3d"
    POSE = "pose"


def _checked_where(value: str) -> str:
    parse_where(value)
    return value


Where = Annotated[
    str, StringConstraints(max_length=200, pattern=NO_NUL), AfterValidator(_checked_where)
]


class TrainingParams(BaseModel):
    """What decides a training run: its splits, schedule, views, teacher and distillation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    test_where: Where | None = Field(
        None, description="COL=VAL: the manifest rows of the test split (e.g. camera=2)"
    )
    val_where: Where | None = Field(
        None, description="COL=VAL: the manifest rows of the validation split"
    )
    seed: int = Field(0, ge=0, le=SEED_MAX, description="seeds the split, the draws, the init")
    teacher: TeacherKind = Field(
        TeacherKind.CNN3D,
        description="cnn3d: a 3D CNN trained from scratch on the full-resolution frames; pose: "
        "MediaPipe's pretrained pose model and a skeleton classifier (far stronger on real "
        "footage)",
    )
    epochs: int = Field(30, ge=1, le=500, description="epochs of each student (and the teacher)")
    teacher_epochs: int | None = Field(
        None, ge=1, le=500, description="epochs of the teacher (default: epochs)"
    )
    batch_size: int = Field(32, ge=1, le=4096, description="windows per optimiser step")
    lr: float = Field(3e-3, gt=0, le=1, description="peak AdamW learning rate")
    patience: int = Field(
        8, ge=1, le=500, description="stop after this many epochs without a better val macro-F1"
    )
    augment_draws: int = Field(
        2,
        ge=1,
        le=32,
        description="augmented copies of each training window (epoch e trains on copy e mod N); "
        "more copies keep a student trained on few clips from learning them by heart (the KD "
        "teacher runs once per copy)",
    )
    hop_s: float = Field(
        0.5,
        ge=0.05,
        le=10,
        description="seconds between training windows; denser windows show the student more "
        "phases of each motion (the edge runs a window every 0.5 s wherever the motion falls)",
    )
    time_jitter_s: float = Field(
        0.0,
        ge=0,
        le=5,
        description="each augmentation draw moves its window by up to this many seconds either "
        "way, so the student sees motions at every phase (half of hop_s covers it)",
    )
    clip_seconds: float = Field(1.8, gt=0, le=30, description="seconds of video a window spans")
    teacher_frames: int = Field(16, ge=2, le=128, description="frames the teacher reads a window")
    teacher_size: int = Field(112, ge=32, le=224, description="teacher frame side in pixels")
    student_frames: int = Field(8, ge=2, le=64, description="frames the student reads a window")
    student_size: int = Field(32, ge=16, le=112, description="student frame side in pixels")
    student_crop: Literal["none", "motion"] = Field(
        "none",
        description="motion (experimental): the student sees a box around what moves, cut "
        "before downsampling (devices cut the same box; the model's metadata says so); it "
        "lowered fall AUC on the benchmark sets (docs/BENCHMARKS.md)",
    )
    temperature: float = Field(4.0, gt=0, le=50, description="KD temperature T")
    lam: float = Field(0.1, ge=0, le=1, description="weight of the hard-label loss in KD")
    sweep: bool = Field(
        False, description="try T in 1,2,4,8 x lam in 0.1,0.5 and keep the best on validation"
    )
    pose_features: Literal["world", "image", "both"] = Field(
        "world",
        description="pose teacher: MediaPipe's 3D world landmarks, image-plane ones, or both",
    )
    int8: bool = Field(False, description="also export a static int8 (QDQ) student")

    def teacher_epochs_or_default(self) -> int:
        return self.teacher_epochs or self.epochs


TRAINING_FIELDS: tuple[str, ...] = tuple(TrainingParams.model_fields)


def flag_of(name: str) -> str:
    """The command-line flag of a field: `hop_s` -> `--hop-s`."""
    return "--" + name.replace("_", "-")


def _scalar_type(annotation: Any) -> Any:
    """`int | None` -> int; Annotated[str, ...] -> str; a Literal or enum stays itself."""
    if get_origin(annotation) in (Union, types.UnionType):
        (annotation,) = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def add_training_flags(
    parser: argparse.ArgumentParser,
    skip: tuple[str, ...] = (),
    defaults: dict[str, Any] | None = None,
    only: tuple[str, ...] | None = None,
) -> None:
    """One flag per `TrainingParams` field (`only` these, less `skip`), its description as help.

    `defaults` overrides a field's default for this parser (a benchmark's own schedule).
    Values are checked by `params_from_args`, with the model's own rules.
    """
    defaults = defaults or {}
    unknown = (set(skip) | set(defaults) | set(only or ())) - set(TRAINING_FIELDS)
    if unknown:
        raise ValueError(f"not training settings: {sorted(unknown)}")
    for name, field in TrainingParams.model_fields.items():
        if name in skip or (only is not None and name not in only):
            continue
        kind = _scalar_type(field.annotation)
        default = defaults.get(name, field.default)
        extra: dict[str, Any] = {"help": field.description, "dest": name, "default": default}
        if kind is bool:
            extra["action"] = argparse.BooleanOptionalAction
        elif get_origin(kind) is Literal:
            extra["choices"] = get_args(kind)
        elif isinstance(kind, type) and issubclass(kind, StrEnum):
            extra["choices"] = [member.value for member in kind]
            extra["default"] = str(default)
        else:
            extra["type"] = kind
        parser.add_argument(flag_of(name), **extra)


def params_from_args(args: argparse.Namespace, **fixed: Any) -> TrainingParams:
    """The `TrainingParams` of parsed flags (plus `fixed` values); bad values name their flag."""
    values = {name: getattr(args, name) for name in TRAINING_FIELDS if hasattr(args, name)}
    try:
        return TrainingParams.model_validate({**values, **fixed})
    except ValidationError as exc:
        raise ValueError(describe_errors(exc)) from None


def describe_errors(exc: ValidationError) -> str:
    """`--epochs: Input should be greater than or equal to 1` for each refused value."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        lines.append(f"{flag_of(where) if where in TRAINING_FIELDS else where}: {error['msg']}")
    return "; ".join(lines)
