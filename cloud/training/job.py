"""A training job's subprocess: build the dataset, run the pipeline, score production.

`python -m cloud.training.job JOB_DIR/spec.json` (a `JobSpec`). A process of its own
keeps torch out of the service, lets a cancel kill it (with its children), and gives
the worker its stdout, where the pipeline prints one JSON line per epoch.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from cloud.training.job_spec import CLIP_COLUMNS, JobSpec
from shared.datasets.folder import MANIFEST_NAME, scan_folder, write_manifest

if TYPE_CHECKING:
    from cloud.training.pipeline import PipelineConfig


def prepare_data(spec: JobSpec) -> Path:
    """The folder the pipeline trains on."""
    if spec.synthetic is not None:
        from shared.labels import DEFAULT_LABELS
        from shared.synth import write_synth_dataset

        scenes = spec.synthetic
        write_synth_dataset(
            spec.synth_dir,
            clips_per_class=scenes.clips_per_class,
            seed=scenes.seed,
            size=scenes.size,
            seconds=scenes.seconds,
            fps=scenes.fps,
            site_seed=scenes.site_seed,
            site_share=scenes.site_share,
            labels=scenes.labels or DEFAULT_LABELS,
        )
        source = spec.synth_dir
    else:
        assert spec.source_folder is not None  # JobSpec holds one dataset or the other
        source = spec.source_folder
    if spec.clips_csv is None:
        return source
    merge_manifest(source, spec.clips_csv, spec.dataset_dir)
    return spec.dataset_dir


def merge_manifest(source: Path, clips_csv: Path, out_dir: Path) -> Path:
    """Write `out_dir/manifest.csv`: the source's clips and the exported clips.

    The source's clips keep their own columns (so `test_where` still works) with absolute
    paths; the exported ones are marked `origin=clip`.
    """
    source_rows = _source_rows(source)
    with clips_csv.open(newline="") as handle:
        clip_rows = list(csv.DictReader(handle))
    columns = ["path", "label"]
    for row in source_rows:
        columns += [c for c in row if c not in columns]
    columns += [c for c in CLIP_COLUMNS if c not in columns]
    for row in source_rows:
        row.setdefault("origin", "dataset")
    return write_manifest(out_dir / MANIFEST_NAME, columns, source_rows + clip_rows)


def _source_rows(source: Path) -> list[dict[str, str]]:
    manifest = source / MANIFEST_NAME
    if not manifest.is_file():
        return [{"path": str(r.path), "label": r.label} for r in scan_folder(source)]
    with manifest.open(newline="", encoding="utf-8-sig") as handle:
        rows = [{k.strip(): (v or "") for k, v in row.items()} for row in csv.DictReader(handle)]
    for row in rows:
        row["path"] = os.path.normpath(source / row["path"].replace("\\", "/"))
    return rows


def pipeline_config(spec: JobSpec, data: Path) -> PipelineConfig:
    """The run a job asks for, on the folder `prepare_data` made."""
    from cloud.training.pipeline import PipelineConfig

    return PipelineConfig(
        params=spec.params,
        data=data,
        out=spec.run_dir,
        unlabeled=spec.unlabeled_dir,
        pose_cache=spec.pose_cache,
    )


def run(spec: JobSpec) -> None:
    from cloud.training.pipeline import run_pipeline

    data = prepare_data(spec)
    print(json.dumps({"stage": "dataset", "data": str(data)}), flush=True)
    run_pipeline(pipeline_config(spec, data))
    if spec.production_onnx is not None:
        score_production(spec, data)


def score_production(spec: JobSpec, data: Path) -> None:
    """Production's test scores on this job's split; an error is recorded, not fatal."""
    from cloud.training.scoring import evaluate_model

    p = spec.params
    assert spec.production_onnx is not None
    try:
        result = evaluate_model(spec.production_onnx, data, p.test_where, p.val_where, p.seed)
    except Exception as exc:  # recorded: the promotion decision reads it
        result = {"error": f"{type(exc).__name__}: {exc}"}
    spec.scores_path.write_text(json.dumps(result, default=str))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    spec = JobSpec.model_validate_json(Path(args[0]).read_text())
    try:
        run(spec)
    except Exception:  # the worker records the traceback as the job's error
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
