"""Self-describing checkpoints: weights plus everything needed to rebuild, export and judge them.

As in nanoGPT's train.py, the file carries the model's constructor arguments and the
training config beside the weights, so export and evaluation need nothing else.
Only plain types and tensors are stored (metadata and configs as JSON strings), so
`torch.load(weights_only=True)` reads it without unpickling arbitrary objects
(https://pytorch.org/docs/stable/generated/torch.load.html).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

import cloud.training.pose.model  # noqa: F401 - registers the pose teacher's architecture
from cloud.training.networks import ModelConfig, build_model
from shared.files import staged_file
from shared.modelmeta import ModelMetadata

CHECKPOINT_FORMAT = "vigil-checkpoint"
CHECKPOINT_VERSION = 1
ROLES = ("teacher", "student")


class CheckpointError(ValueError):
    """A file is not a Vigil checkpoint, or a checkpoint contradicts itself."""


@dataclass
class Checkpoint:
    role: str
    model_config: ModelConfig
    state_dict: dict[str, torch.Tensor]
    metadata: ModelMetadata
    train_config: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise CheckpointError(f"role must be one of {ROLES}, got {self.role!r}")
        check_consistent(self.model_config, self.metadata)


def check_consistent(cfg: ModelConfig, meta: ModelMetadata) -> None:
    """The metadata the edge reads must describe the model the weights belong to."""
    if cfg.num_classes != len(meta.labels):
        raise CheckpointError(
            f"model has {cfg.num_classes} outputs but metadata lists {len(meta.labels)} labels"
        )
    spec = meta.input
    if cfg.features:  # a skeleton model reads the window's instants, not its pixels
        if spec.frames != cfg.frames:
            raise CheckpointError(
                f"metadata input has {spec.frames} frames, the model reads {cfg.frames}"
            )
        return
    if (spec.frames, spec.height, spec.width) != (cfg.frames, cfg.height, cfg.width):
        raise CheckpointError(
            f"metadata input {spec.frames}x{spec.height}x{spec.width} does not match "
            f"the model's {cfg.frames}x{cfg.height}x{cfg.width}"
        )


def to_payload(ckpt: Checkpoint) -> dict[str, Any]:
    return {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_VERSION,
        "role": ckpt.role,
        "model_config": ckpt.model_config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in ckpt.state_dict.items()},
        "metadata": ckpt.metadata.model_dump_json(),
        # JSON strings: fails here, at save time, if the trainer put in something that
        # is not plain data, instead of at load time under weights_only.
        "train_config": json.dumps(ckpt.train_config),
        "history": json.dumps(ckpt.history),
    }


def from_payload(payload: Any) -> Checkpoint:
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError("no Vigil checkpoint header")
    if payload.get("format_version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"unsupported checkpoint version {payload.get('format_version')}")
    return Checkpoint(
        role=payload["role"],
        model_config=ModelConfig.from_dict(payload["model_config"]),
        state_dict=dict(payload["state_dict"]),
        metadata=ModelMetadata.model_validate_json(payload["metadata"]),
        train_config=json.loads(payload["train_config"]),
        history=json.loads(payload["history"]),
    )


def save_checkpoint(ckpt: Checkpoint, path: Path) -> Path:
    """Write `ckpt` to `path` atomically: a reader sees the old file or the new, never half."""
    payload = to_payload(ckpt)
    with staged_file(path) as tmp, tmp.open("wb") as f:
        torch.save(payload, f)
        f.flush()
        os.fsync(f.fileno())
    return Path(path)


def load_checkpoint(path: Path) -> Checkpoint:
    """Read a checkpoint written by `save_checkpoint`; CheckpointError naming the file if not."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        return from_payload(payload)
    except Exception as exc:  # unpickling, zip and validation errors all mean "not ours"
        raise CheckpointError(
            f"{path} is not a Vigil checkpoint (a .pt file `vigil train` wrote): "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def model_from_checkpoint(ckpt: Checkpoint) -> nn.Module:
    """The model rebuilt from the checkpoint's config, weights loaded strictly, in eval mode."""
    model = build_model(ckpt.model_config)
    model.load_state_dict(ckpt.state_dict, strict=True)
    return model.eval()
