"""What the figure wears: skin tone, hair and clothing colours (BGR)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

Colour = tuple[int, int, int]

SKIN_TONES: tuple[Colour, ...] = (
    (175, 200, 240),
    (140, 175, 225),
    (110, 150, 200),
    (85, 120, 170),
    (55, 80, 115),
    (40, 52, 75),
)
HAIR_COLOURS: tuple[Colour, ...] = (
    (25, 25, 30),
    (30, 45, 70),
    (40, 70, 110),
    (150, 150, 155),
    (205, 205, 210),
    (110, 170, 210),
)
SHOE_COLOURS: tuple[Colour, ...] = ((30, 30, 30), (60, 60, 70), (40, 60, 90), (200, 205, 210))
# Clothes closer than this (BGR distance) to the wall or floor are drawn again, so the
# figure is not camouflaged by accident; low contrast still comes from the lighting.
MIN_CONTRAST = 45.0


@dataclass(frozen=True)
class Appearance:
    skin: Colour
    hair: Colour
    top: Colour
    bottom: Colour
    shoes: Colour
    long_sleeves: bool
    bald: bool


def jitter(colour: Colour, rng: np.random.Generator, amount: float) -> Colour:
    """A colour moved by up to `amount` per channel, kept in 0..255."""
    moved = np.clip(np.asarray(colour) + rng.uniform(-amount, amount, 3), 0, 255)
    return (int(moved[0]), int(moved[1]), int(moved[2]))


def hsv_colour(hue: float, saturation: float, value: float) -> Colour:
    """BGR from hue in degrees (0..360) and saturation/value in 0..1."""
    hsv = np.array([[[hue / 2.0, saturation * 255.0, value * 255.0]]], dtype=np.float32)
    bgr = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)[0, 0]
    return (int(bgr[0]), int(bgr[1]), int(bgr[2]))


def _garment(rng: np.random.Generator, value: tuple[float, float]) -> Colour:
    return hsv_colour(rng.uniform(0, 360), rng.uniform(0.05, 0.75), rng.uniform(*value))


def _far_enough(colour: Colour, avoid: Sequence[Colour]) -> bool:
    return all(np.linalg.norm(np.subtract(colour, a)) >= MIN_CONTRAST for a in avoid)


def _garment_avoiding(
    rng: np.random.Generator, value: tuple[float, float], avoid: Sequence[Colour]
) -> Colour:
    colour = _garment(rng, value)
    for _ in range(10):
        if _far_enough(colour, avoid):
            break
        colour = _garment(rng, value)
    return colour


def random_appearance(rng: np.random.Generator, avoid: Sequence[Colour] = ()) -> Appearance:
    """Random clothes and skin; tops and trousers keep some contrast with `avoid`."""
    skin = jitter(SKIN_TONES[rng.integers(len(SKIN_TONES))], rng, 10)
    return Appearance(
        skin=skin,
        hair=jitter(HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))], rng, 8),
        top=_garment_avoiding(rng, (0.3, 0.95), avoid),
        bottom=_garment_avoiding(rng, (0.15, 0.7), avoid),
        shoes=SHOE_COLOURS[rng.integers(len(SHOE_COLOURS))],
        long_sleeves=bool(rng.random() < 0.6),
        bald=bool(rng.random() < 0.1),
    )
