"""The training job's subprocess: build the dataset, run the pipeline, score production.

`python -m cloud.service.pipeline_proc JOB_DIR/spec.json`. A process of its own keeps
torch out of the service, lets a cancel kill it (with its children), and gives us its
stdout, where the pipeline prints one JSON line per epoch.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from cloud.service.job_dataset import merge_manifest
from cloud.service.job_spec import JobSpec
from cloud.service.schemas import SyntheticDataset

if TYPE_CHECKING:
    from cloud.pipeline import PipelineConfig


def prepare_data(spec: JobSpec) -> Path:
    """The folder the pipeline trains on."""
    dataset = spec.params.dataset
    if isinstance(dataset, SyntheticDataset):
        from shared.labels import DEFAULT_LABELS
        from shared.synth import write_synth_dataset

        write_synth_dataset(
            spec.synth_dir,
            clips_per_class=dataset.clips_per_class,
            seed=dataset.seed,
            size=dataset.size,
            seconds=dataset.seconds,
            fps=dataset.fps,
            site_seed=dataset.site_seed,
            site_share=dataset.site_share,
            labels=dataset.labels or DEFAULT_LABELS,
        )
        source = spec.synth_dir
    else:
        assert spec.source_folder is not None  # the worker resolved and checked it
        source = spec.source_folder
    if spec.clips_csv is None:
        return source
    merge_manifest(source, spec.clips_csv, spec.dataset_dir)
    return spec.dataset_dir


def pipeline_config(spec: JobSpec, data: Path) -> PipelineConfig:
    """The pipeline run a job asks for, on the folder `prepare_data` made."""
    from cloud.pipeline import PipelineConfig

    p = spec.params
    return PipelineConfig(
        data=data,
        out=spec.run_dir,
        epochs=p.epochs,
        teacher_epochs=p.teacher_epochs,
        sweep=p.sweep,
        temperature=p.temperature,
        lam=p.lam,
        seed=p.seed,
        test_where=p.test_where,
        val_where=p.val_where,
        teacher_size=p.teacher_size,
        student_size=p.student_size,
        student_crop=p.student_crop,
        num_draws=p.augment_draws,
        hop_s=p.hop_s,
        time_jitter_s=p.time_jitter_s,
        patience=p.patience,
        teacher=p.teacher,
        unlabeled=spec.unlabeled_dir,
        pose_cache=spec.pose_cache,
    )


def run(spec: JobSpec) -> None:
    from cloud.pipeline import run_pipeline

    data = prepare_data(spec)
    print(json.dumps({"stage": "dataset", "data": str(data)}), flush=True)
    run_pipeline(pipeline_config(spec, data))
    if spec.production_onnx is not None:
        score_production(spec, data)


def score_production(spec: JobSpec, data: Path) -> None:
    """Production's test scores on this job's split; an error is recorded, not fatal."""
    from cloud.evaluate_cmd import evaluate_model

    p = spec.params
    assert spec.production_onnx is not None
    try:
        result = evaluate_model(spec.production_onnx, data, p.test_where, p.val_where, p.seed)
    except Exception as exc:  # noqa: BLE001 - recorded: the promotion decision reads it
        result = {"error": f"{type(exc).__name__}: {exc}"}
    spec.scores_path.write_text(json.dumps(result, default=str))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    spec = JobSpec.model_validate_json(Path(args[0]).read_text())
    try:
        run(spec)
    except Exception:  # noqa: BLE001 - the worker records the traceback as the job's error
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
