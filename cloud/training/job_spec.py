"""What the service's worker hands a training job's subprocess: `JobSpec`, one JSON file.

The worker writes `JOB_DIR/spec.json` and runs `python -m cloud.training.job` on it; the
subprocess writes the run directory (`JOB_DIR/run`, its `report.json` a `RunReport`) and
production's scores. These models and files are all the two sides share: plain pydantic,
so the service validates a job without the training stack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cloud.training.params import SEED_MAX, TrainingParams
from shared.labels import DEFAULT_LABELS
from shared.messages import Label

SPEC_FILE = "spec.json"
PRODUCTION_SCORES = "production_scores.json"
# The labelled clips the worker exports beside the dataset: `clips.csv` lists them with
# these columns after `path,label`; the job merges them into the dataset's manifest.
CLIPS_CSV = "clips.csv"
CLIP_COLUMNS = ("origin", "clip_site", "clip_device", "clip_camera")


class SyntheticDataset(BaseModel):
    """The built-in synthetic scenes (`shared.synth`), deterministic by seed."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["synthetic"] = "synthetic"
    clips_per_class: int = Field(12, ge=2, le=200, description="clips filmed of each action")
    size: int = Field(112, ge=32, le=320, description="frame side in pixels")
    seconds: float = Field(4.0, ge=1.0, le=30.0, description="length of each clip")
    fps: int = Field(15, ge=5, le=30, description="frames per second of each clip")
    seed: int = Field(0, ge=0, le=SEED_MAX, description="the scenes' seed (rooms, people)")
    site_seed: int | None = Field(
        None,
        ge=0,
        le=SEED_MAX,
        description="film every other clip in the room and camera of this scene seed "
        "(the room a scenario of that seed shows): the site's own footage",
    )
    site_share: float = Field(
        0.5, gt=0, le=1, description="the share of the clips filmed in the site's room"
    )
    labels: list[Label] | None = Field(
        None,
        min_length=2,
        max_length=len(DEFAULT_LABELS),
        description="the actions to film (default: all of them)",
    )

    @field_validator("labels")
    @classmethod
    def _known_actions(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        unknown = [label for label in value if label not in DEFAULT_LABELS]
        if unknown:
            raise ValueError(f"cannot synthesise {unknown}; known: {list(DEFAULT_LABELS)}")
        if len(set(value)) != len(value):
            raise ValueError("labels repeat")
        return value


class JobSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    params: TrainingParams
    job_dir: Path
    synthetic: SyntheticDataset | None = None  # the scenes to film, or
    source_folder: Path | None = None  # a folder dataset the worker resolved and checked
    clips_csv: Path | None = None  # labelled clips exported by the worker, to add
    unlabeled_dir: Path | None = None  # clips nobody has labelled yet, for the KD term
    pose_cache: Path | None = None  # landmarks kept between jobs (a pose teacher)
    production_onnx: Path | None = None  # scored on the same test split, for if_better

    @model_validator(mode="after")
    def _one_dataset(self) -> JobSpec:
        if (self.synthetic is None) == (self.source_folder is None):
            raise ValueError("a job trains on synthetic scenes or on a folder: exactly one")
        return self

    @property
    def run_dir(self) -> Path:
        return self.job_dir / "run"

    @property
    def dataset_dir(self) -> Path:
        return self.job_dir / "dataset"

    @property
    def synth_dir(self) -> Path:
        return self.job_dir / "synthetic"

    @property
    def scores_path(self) -> Path:
        return self.job_dir / PRODUCTION_SCORES
