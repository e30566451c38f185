"""One augmentation draw per window, applied identically to every frame of both views.

Drawing once per window (not per frame) keeps motion intact; applying the same draw
to the teacher's and the student's frames keeps the two views of one window aligned,
which knowledge distillation needs (the student imitates the teacher on *this* input).
A draw may also move the window in time (`time_shift_s`, cloud.training.windows applies it to
every view): windows on a fixed grid show a student only a few phases of each motion,
and the edge's own windows fall wherever the camera's clock puts them.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AugmentSpec:
    """Ranges the augmentation draws from."""

    crop_scale: tuple[float, float] = (0.6, 1.0)  # fraction of the frame area kept
    crop_ratio: tuple[float, float] = (0.8, 1.25)
    max_rotation_deg: float = 10.0
    flip_probability: float = 0.5
    brightness: float = 0.25  # additive, as a fraction of 255
    contrast: float = 0.25  # multiplicative, around 1
    # The window's end moves by up to this either way (0: windows stay on their grid).
    max_time_shift_s: float = 0.0


@dataclass(frozen=True)
class AugmentDraw:
    """One window's random choices."""

    crop: tuple[float, float, float, float]  # x0, y0, w, h as fractions of the frame
    angle_deg: float
    flip: bool
    brightness: float
    contrast: float
    time_shift_s: float = 0.0


IDENTITY = AugmentDraw(
    crop=(0.0, 0.0, 1.0, 1.0), angle_deg=0.0, flip=False, brightness=0.0, contrast=1.0
)


def draw_augment(rng: np.random.Generator, spec: AugmentSpec = AugmentSpec()) -> AugmentDraw:
    """A random resized crop, rotation, flip, brightness/contrast jitter and time shift.

    The time shift is drawn last and only when asked for, so draws without it are the
    draws made before it existed (same seed, same crop, angle, flip and levels).
    """
    area = rng.uniform(*spec.crop_scale)
    ratio = float(np.exp(rng.uniform(*np.log(spec.crop_ratio))))
    w = min(1.0, float(np.sqrt(area * ratio)))
    h = min(1.0, float(np.sqrt(area / ratio)))
    x0, y0 = rng.uniform(0, 1 - w), rng.uniform(0, 1 - h)
    return AugmentDraw(
        crop=(float(x0), float(y0), w, h),
        angle_deg=float(rng.uniform(-spec.max_rotation_deg, spec.max_rotation_deg)),
        flip=bool(rng.random() < spec.flip_probability),
        brightness=float(rng.uniform(-spec.brightness, spec.brightness)),
        contrast=float(rng.uniform(1 - spec.contrast, 1 + spec.contrast)),
        time_shift_s=(
            float(rng.uniform(-spec.max_time_shift_s, spec.max_time_shift_s))
            if spec.max_time_shift_s > 0
            else 0.0
        ),
    )


def affine_matrix(draw: AugmentDraw, width: int, height: int) -> np.ndarray:
    """The 2x3 matrix mapping the crop (rotated about its centre, maybe flipped) onto the frame.

    Pixels move by it in `apply_augment`; landmarks of the same window move by it too.
    """
    x0, y0, cw, ch = draw.crop
    centre = ((x0 + cw / 2) * width, (y0 + ch / 2) * height)
    rotate = cv2.getRotationMatrix2D(centre, draw.angle_deg, 1.0)
    rotate = np.vstack([rotate, [0.0, 0.0, 1.0]])
    scale = np.array([[1 / cw, 0, 0], [0, 1 / ch, 0], [0, 0, 1.0]])
    shift = np.array([[1, 0, -x0 * width], [0, 1, -y0 * height], [0, 0, 1.0]])
    matrix = scale @ shift @ rotate
    if draw.flip:
        matrix = np.array([[-1, 0, width - 1], [0, 1, 0], [0, 0, 1.0]]) @ matrix
    return matrix[:2]


def apply_augment(frame: np.ndarray, draw: AugmentDraw) -> np.ndarray:
    """Apply one draw to one BGR uint8 frame; the output keeps the frame's size."""
    if draw == IDENTITY:
        return frame
    height, width = frame.shape[:2]
    warped = cv2.warpAffine(
        frame,
        affine_matrix(draw, width, height),
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT_101,
    )
    return cv2.LUT(warped, _jitter_table(draw))


def _jitter_table(draw: AugmentDraw) -> np.ndarray:
    """Brightness/contrast as a 256-entry lookup table: exact, and far cheaper per pixel."""
    levels = np.arange(256, dtype=np.float32) * draw.contrast + draw.brightness * 255.0
    return np.clip(np.rint(levels), 0, 255).astype(np.uint8)
