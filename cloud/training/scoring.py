"""`vigil eval`: score a checkpoint or an ONNX file on a dataset's test split (or every clip)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cloud.training.checkpoint import Checkpoint, load_checkpoint, model_from_checkpoint
from cloud.training.data import PoseOptions, label_set_for
from cloud.training.evaluation import evaluate_logits
from cloud.training.onnx_eval import evaluate_onnx, onnx_session
from cloud.training.pose.features import PoseFeatureSpec
from cloud.training.teachers import view_of
from cloud.training.trainer import predict_logits
from cloud.training.windows import FrameCache, TwoViewWindows, list_windows
from shared.datasets import ClipRecord, load_folder, split_records
from shared.modelmeta import ModelMetadata
from shared.preprocess import InputSpec


def scoring_windows(
    data: Path,
    spec: InputSpec,
    test_where: str | None,
    val_where: str | None,
    seed: int,
    every_clip: bool,
    pose: PoseOptions | None = None,
) -> TwoViewWindows:
    """Windows of the test split (or of every clip), in the model's own input spec."""
    records: list[ClipRecord] = load_folder(data)
    labels = label_set_for(records)
    if not every_clip:
        records = split_records(records, test_where=test_where, val_where=val_where, seed=seed).test
    cache = FrameCache()
    refs = list_windows(records, cache, labels, spec, hop_s=0.5)
    tracks = pose.source([r.path for r in records], spec) if pose is not None else None
    return TwoViewWindows(records, refs, cache, spec, spec, pose=tracks)


def pose_options_of(ckpt: Checkpoint) -> PoseOptions | None:
    """A pose teacher is scored on the landmark features it was trained on."""
    if view_of(ckpt) != "pose":
        return None
    return PoseOptions(PoseFeatureSpec(str(ckpt.train_config.get("pose_features", "world"))))


def model_metadata(path: Path) -> ModelMetadata:
    if path.suffix == ".onnx":
        return ModelMetadata.from_properties(onnx_session(path).get_modelmeta().custom_metadata_map)
    return load_checkpoint(path).metadata


def evaluate_model(
    path: Path,
    data: Path,
    test_where: str | None,
    val_where: str | None,
    seed: int,
    every_clip: bool = False,
) -> dict[str, Any]:
    meta = model_metadata(path)
    if path.suffix == ".onnx":
        windows = scoring_windows(data, meta.input, test_where, val_where, seed, every_clip)
        result = evaluate_onnx(path, windows, meta.label_set)
    else:
        ckpt = load_checkpoint(path)
        pose = pose_options_of(ckpt)
        windows = scoring_windows(data, meta.input, test_where, val_where, seed, every_clip, pose)
        view = view_of(ckpt)
        logits = predict_logits(model_from_checkpoint(ckpt), windows, view)
        result = evaluate_logits(logits, windows.labels(), windows.clip_ids(), meta.label_set)
    return {"model": str(path), "model_version": meta.model_version, **result.to_dict()}
