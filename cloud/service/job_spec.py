"""What the worker hands the pipeline subprocess: one JSON file, read back with this model."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from cloud.service.schemas import TrainingJobCreate

SPEC_FILE = "spec.json"
PRODUCTION_SCORES = "production_scores.json"


class JobSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    params: TrainingJobCreate
    job_dir: Path
    source_folder: Path | None = None  # a checked folder dataset (None: synthetic)
    clips_csv: Path | None = None  # labelled clips exported by the worker, to add
    unlabeled_dir: Path | None = None  # clips nobody has labelled yet, for the KD term
    pose_cache: Path | None = None  # landmarks kept between jobs (a pose teacher)
    production_onnx: Path | None = None  # scored on the same test split, for if_better

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
