"""The one path from raw BGR frames to model input, shared by training and the edge.

Two steps, so that the edge can drop full-resolution frames at once (privacy and memory):

1. `downsample_frame`: resize one BGR frame to the model's H x W with INTER_AREA.
   The edge calls it on every captured frame; training calls it inside step 2.
2. `window_to_input`: a window of frames (any size) -> float32 (3, T, H, W):
   downsample, BGR->RGB, scale to [0, 1], subtract mean, divide by std.

A model may also ask (`InputSpec.crop`) for each frame to be cut to a box around what
moves before step 1 (`shared.motion_crop`); the edge and training follow that box with
the same code.

Windows are defined in seconds (`InputSpec.clip_seconds`) and sampled by timestamp
(`window_indices`), so a model trained on 18 fps video sees the same span of time on
a 30 fps camera.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import cv2
import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from shared.motion_crop import MotionCropSpec

# ImageNet statistics: a sensible default for natural RGB video.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class InputSpec(BaseModel):
    """What a model expects: T frames of H x W covering `clip_seconds` of video."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    frames: int = Field(8, ge=1, le=256, description="frames per window (T)")
    height: int = Field(32, ge=8, le=1024, description="input height in pixels")
    width: int = Field(32, ge=8, le=1024, description="input width in pixels")
    clip_seconds: float = Field(1.8, gt=0, le=60, description="seconds a window spans")
    mean: tuple[float, float, float] = Field(IMAGENET_MEAN, description="per-channel mean, RGB")
    std: tuple[float, float, float] = Field(IMAGENET_STD, description="per-channel std, RGB")
    color_order: Literal["RGB"] = Field("RGB", description="channel order of the input tensor")
    crop: MotionCropSpec | None = Field(
        None, description="crop each frame around motion before downsampling (None: whole frame)"
    )

    @model_validator(mode="after")
    def _std_positive(self) -> InputSpec:
        if any(s <= 0 for s in self.std):
            raise ValueError(f"std must be positive, got {self.std}")
        return self

    @model_serializer(mode="wrap")
    def _no_crop_no_key(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Without a crop, the spec reads as it did before crops existed, so that devices
        # not yet updated still accept the models a newer cloud exports.
        data: dict[str, Any] = handler(self)
        if data.get("crop") is None:
            data.pop("crop", None)
        return data

    @property
    def size(self) -> tuple[int, int]:
        return (self.height, self.width)

    def input_shape(self, batch: int | str = 1) -> tuple[int | str, int, int, int, int]:
        return (batch, 3, self.frames, self.height, self.width)


def downsample_frame(frame_bgr: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize one BGR uint8 frame to height x width with area interpolation."""
    if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 BGR frame, got shape {frame_bgr.shape}")
    if frame_bgr.shape[:2] == (height, width):
        return frame_bgr
    return cv2.resize(frame_bgr, (width, height), interpolation=cv2.INTER_AREA)


def window_to_input(frames_bgr: Sequence[np.ndarray], spec: InputSpec) -> np.ndarray:
    """Turn T BGR uint8 frames (any size) into the model's float32 (3, T, H, W) input."""
    if len(frames_bgr) != spec.frames:
        raise ValueError(f"window has {len(frames_bgr)} frames, the model takes {spec.frames}")
    small = np.stack([downsample_frame(f, spec.height, spec.width) for f in frames_bgr])
    rgb = small[..., ::-1].astype(np.float32) / np.float32(255.0)  # T, H, W, 3
    mean = np.asarray(spec.mean, dtype=np.float32)
    std = np.asarray(spec.std, dtype=np.float32)
    normalised = (rgb - mean) / std
    return np.ascontiguousarray(normalised.transpose(3, 0, 1, 2))  # 3, T, H, W


def window_times(end_s: float, spec: InputSpec) -> np.ndarray:
    """The T instants a window ending at `end_s` samples, evenly spaced, the last at `end_s`."""
    step = spec.clip_seconds / spec.frames
    return end_s - step * np.arange(spec.frames - 1, -1, -1, dtype=np.float64)


def window_indices(
    timestamps: Sequence[float] | np.ndarray, end_s: float, spec: InputSpec
) -> np.ndarray:
    """Indices of the frames nearest to each of the window's instants.

    `timestamps` must be sorted (seconds, any frame rate). Instants before the first
    frame take the first frame, so a window at the very start of a video is padded.
    """
    ts = np.asarray(timestamps, dtype=np.float64)
    if ts.size == 0:
        raise ValueError("no frames to sample a window from")
    targets = window_times(end_s, spec)
    right = np.clip(np.searchsorted(ts, targets), 1, ts.size - 1) if ts.size > 1 else None
    if right is None:
        return np.zeros(spec.frames, dtype=np.int64)
    left = right - 1
    pick_right = np.abs(ts[right] - targets) < np.abs(ts[left] - targets)
    return np.where(pick_right, right, left).astype(np.int64)


def window_ends(duration_s: float, spec: InputSpec, hop_s: float) -> np.ndarray:
    """End times of the windows that cover a clip of `duration_s`, one every `hop_s`.

    The first window ends once a full `clip_seconds` is available (or at the end of a
    clip shorter than that).
    """
    if hop_s <= 0:
        raise ValueError(f"hop must be positive, got {hop_s}")
    first = min(spec.clip_seconds, duration_s)
    count = int(np.floor((duration_s - first) / hop_s + 1e-9)) + 1
    return first + hop_s * np.arange(max(count, 1), dtype=np.float64)
