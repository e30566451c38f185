"""What the camera adds: uneven lighting, a little shake, and sensor noise."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Sensor:
    gain: np.ndarray  # (H, W, 3) float32: lighting falloff, exposure and white balance
    noise_sigma: float  # grey levels
    shake_px: float  # spread of the per-frame camera offset, pixels


def _lighting(rng: np.random.Generator, size: int) -> np.ndarray:
    """A slope across the room, a brighter patch (lamp or window) and lens vignetting."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / np.float32(size) - np.float32(0.5)
    angle = rng.uniform(0, 2 * np.pi)
    slope = 1.0 + rng.uniform(0.1, 0.5) * (x * np.cos(angle) + y * np.sin(angle))
    cx, cy, spread = rng.uniform(-0.4, 0.4), rng.uniform(-0.45, 0.2), rng.uniform(0.15, 0.4)
    patch = rng.uniform(0.0, 0.35) * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * spread**2))
    vignette = 1.0 - rng.uniform(0.0, 0.5) * (x**2 + y**2)
    return (slope + patch) * vignette


def random_sensor(rng: np.random.Generator, size: int) -> Sensor:
    exposure = rng.uniform(0.7, 1.1)
    white_balance = rng.uniform(0.9, 1.1, 3)
    gain = _lighting(rng, size)[..., None] * (exposure * white_balance)
    return Sensor(
        gain=gain.astype(np.float32),
        noise_sigma=float(rng.uniform(1.5, 6.0)),
        shake_px=float(rng.uniform(0.1, 0.5) * size / 112),
    )


def shake(rng: np.random.Generator, frames: int, spread_px: float) -> np.ndarray:
    """Per-frame camera offsets (N, 2): a slow AR(1) wander of about `spread_px`."""
    keep = 0.8
    steps = rng.normal(0.0, spread_px * np.sqrt(1 - keep**2), (frames, 2))
    offsets = np.zeros((frames, 2))
    for i in range(frames):
        offsets[i] = (offsets[i - 1] * keep if i else 0.0) + steps[i]
    return offsets


def _shift(img: np.ndarray, offset: np.ndarray, interpolation: int) -> np.ndarray:
    m = np.array([[1.0, 0.0, offset[0]], [0.0, 1.0, offset[1]]], dtype=np.float32)
    h, w = img.shape[:2]
    return cv2.warpAffine(img, m, (w, h), flags=interpolation, borderMode=cv2.BORDER_REFLECT)


def expose(scene: np.ndarray, sensor: Sensor, offset: np.ndarray,
           rng: np.random.Generator) -> np.ndarray:
    """The frame the camera records of `scene` (BGR uint8) shifted by `offset`."""
    light = _shift(scene, offset, cv2.INTER_LINEAR).astype(np.float32) * sensor.gain
    noise = rng.standard_normal(scene.shape, dtype=np.float32) * np.float32(sensor.noise_sigma)
    return np.clip(light + noise + 0.5, 0, 255).astype(np.uint8)


def shift_mask(mask: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """A person mask moved with the camera shake, so it stays on the person."""
    return _shift(mask, offset, cv2.INTER_NEAREST)
