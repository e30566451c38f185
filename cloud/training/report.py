"""What a training run reports: `RunReport`, written as `report.json` by the pipeline.

Read by the CLI, the job worker (registry and promotion), the demo, the model card,
`bench/` and, through the model registry's metrics, the dashboard. Plain pydantic (no
torch), so the service reads a run without the training stack. The JSON keeps the
shape runs have always written (one key per model beside `exported`, `timing`, ...),
so every `report.json` and `bench/results` file written before this model still reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cloud.training.params import TrainingParams


class ModelName(StrEnum):
    """The models one run trains, in the order reports list them."""

    TEACHER = "teacher"
    STUDENT_SCRATCH = "student_scratch"  # the student without KD, on the same schedule
    STUDENT_KD = "student_kd"
    STUDENT_KD_UNLABELED = "student_kd_unlabeled"  # KD on labelled + unlabelled windows


STUDENTS: tuple[ModelName, ...] = (
    ModelName.STUDENT_SCRATCH,
    ModelName.STUDENT_KD,
    ModelName.STUDENT_KD_UNLABELED,
)
INT8 = "student_int8"  # the exported student, quantised: an entry, not a trained model


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SweepPoint(Entry):
    temperature: float
    lam: float
    val_macro_f1: float


class KdSettings(Entry):
    """The distillation a student was trained with (the sweep's pick when swept)."""

    temperature: float
    lam: float
    teacher: str = Field(description="the teacher's model version")
    sweep: list[SweepPoint] = Field(default_factory=list)


class Scores(Entry):
    """Test-split scores (cloud.training.evaluation.EvalResult)."""

    accuracy_window: float
    accuracy_clip: float
    macro_f1: float
    fall_recall: float | None = None
    fall_precision: float | None = None
    fall_auc_window: float | None = None
    ort_latency_ms: float | None = None


class ModelEntry(Scores):
    """One trained model: its test scores, size, speed and how it was distilled."""

    per_class_recall: dict[str, float | None] = Field(default_factory=dict)
    balanced_accuracy: float | None = None
    confusion: list[list[int]] = Field(default_factory=list)
    n_windows: int | None = None
    n_clips: int | None = None
    params: int
    macs: int
    kd: KdSettings | None = None

    @classmethod
    def of(
        cls,
        scores: dict[str, Any],
        params: int,
        macs: int,
        ort_latency_ms: float | None,
        kd: KdSettings | None = None,
    ) -> ModelEntry:
        """An entry from an evaluation's scores (`EvalResult.to_dict()`) and the model's cost."""
        return cls(**scores, params=params, macs=macs, ort_latency_ms=ort_latency_ms, kd=kd)


class TeacherGate(Entry):
    """Is the teacher better than the student alone on validation? Distilling a worse one hurts."""

    teacher_better: bool
    teacher_val_f1: float
    student_val_f1: float
    message: str


class Timing(Entry):
    """Seconds each model took to train (a KD student's includes its teacher's logits)."""

    teacher_s: float | None = None
    student_scratch_s: float | None = None
    student_kd_s: float | None = None
    student_kd_unlabeled_s: float | None = None
    kd_over_scratch: float | None = None


class WindowCounts(Entry):
    train: int
    val: int
    test: int
    unlabelled: int = 0


class TeacherCost(Entry):
    """What labelling one window costs the teacher, in ms on one CPU thread."""

    kind: str
    ms_per_window: float
    classifier_ms: float | None = None
    landmarks_ms_per_frame: float | None = None
    extraction_ms_per_frame: float | None = None
    frames_per_window: int


class RunReport(Entry):
    """The report of one `run_pipeline` run."""

    exported: ModelName = Field(description="the student shipped as student.onnx")
    teacher_gate: TeacherGate
    teacher: ModelEntry
    student_scratch: ModelEntry
    student_kd: ModelEntry
    student_kd_unlabeled: ModelEntry | None = None
    student_int8: Scores | None = None
    timing: Timing
    windows: WindowCounts | None = None  # not recorded by runs before 2026-11
    teacher_kind: str = "cnn3d"
    teacher_cost: TeacherCost | None = None
    params: TrainingParams | None = Field(None, description="what the run ran with")
    # Written beside a run by bench/kd_quality.py (its wall time, its unlabelled videos).
    wall_s: float | None = None
    unlabeled_videos: int | None = None

    def model(self, name: ModelName | str) -> ModelEntry | None:
        entry = getattr(self, ModelName(name).value)
        assert entry is None or isinstance(entry, ModelEntry)
        return entry

    def models(self) -> Iterator[tuple[ModelName, ModelEntry]]:
        """The trained models present, teacher first."""
        for name in ModelName:
            entry = self.model(name)
            if entry is not None:
                yield name, entry

    def as_json(self) -> dict[str, Any]:
        """What `report.json` holds: what the run set (a model it did not train is absent)."""
        return self.model_dump(mode="json", exclude_unset=True)

    @property
    def shipped(self) -> ModelEntry:
        entry = self.model(self.exported)
        assert entry is not None, f"the report has no entry for its export {self.exported}"
        return entry
