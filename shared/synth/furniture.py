"""Furniture as groups of boxes (and round blobs), with random sizes and colours.

Each item stands on the floor at (x, z) turned by `yaw` (0 = its front faces screen
right), in the same axes as the body: (f, l, u) = forward, left, up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared.synth.clothing import Colour, hsv_colour, jitter

WOODS: tuple[Colour, ...] = ((40, 70, 110), (60, 100, 150), (90, 140, 190), (30, 45, 70))
FABRICS: tuple[Colour, ...] = ((150, 110, 80), (90, 120, 160), (120, 150, 120), (170, 170, 175))
SHEETS: tuple[Colour, ...] = ((235, 235, 235), (220, 210, 190), (210, 225, 235), (200, 200, 225))


@dataclass(frozen=True)
class Box:
    centre: tuple[float, float, float]  # item-local (f, l, u)
    size: tuple[float, float, float]  # extent along f, l, u
    colour: Colour


@dataclass(frozen=True)
class Blob:
    centre: tuple[float, float, float]
    radius: float
    colour: Colour


@dataclass(frozen=True)
class Item:
    kind: str
    x: float
    z: float
    yaw: float
    boxes: tuple[Box, ...]
    blobs: tuple[Blob, ...] = ()

    def to_world(self, local: np.ndarray) -> np.ndarray:
        """Item-local (..., 3) points as world (X, U, Z)."""
        f, lat, u = local[..., 0], local[..., 1], local[..., 2]
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        return np.stack([self.x + f * c + lat * s, u, self.z - f * s + lat * c], axis=-1)


def _pick(rng: np.random.Generator, colours: tuple[Colour, ...], amount: float = 12) -> Colour:
    return jitter(colours[rng.integers(len(colours))], rng, amount)


def _legs(width: float, depth: float, height: float, thick: float, colour: Colour) -> list[Box]:
    """Four legs under a top of `depth` x `width`."""
    df, dl = depth / 2 - thick / 2, width / 2 - thick / 2
    return [
        Box((sf * df, sl * dl, height / 2), (thick, thick, height), colour)
        for sf in (-1, 1)
        for sl in (-1, 1)
    ]


CHAIR_SEAT_DEPTH = 0.26


def seated_pelvis_offset() -> float:
    """Where a seated pelvis rests on a chair, along the chair's forward axis."""
    return -0.3 * CHAIR_SEAT_DEPTH


def chair(x: float, z: float, yaw: float, seat_h: float, rng: np.random.Generator) -> Item:
    """A dining chair whose seat top is at `seat_h`; a seated person faces along yaw."""
    wood, seat = _pick(rng, WOODS), _pick(rng, WOODS + FABRICS)
    d, w, t = CHAIR_SEAT_DEPTH, rng.uniform(0.24, 0.3), 0.03
    back_h = rng.uniform(0.22, 0.3)
    boxes = _legs(w, d, seat_h - t, 0.022, wood) + [
        Box((0.0, 0.0, seat_h - t / 2), (d, w, t), seat),
        Box((-d / 2 + 0.012, 0.0, seat_h + back_h / 2), (0.024, w, back_h), seat),
    ]
    return Item("chair", x, z, yaw, tuple(boxes))


def bed(x: float, z: float, rng: np.random.Generator) -> Item:
    """A single bed seen from its side, head at a random end."""
    frame, sheet = _pick(rng, WOODS), _pick(rng, SHEETS, 8)
    length, width = rng.uniform(1.1, 1.25), rng.uniform(0.5, 0.6)
    head = 1.0 if rng.random() < 0.5 else -1.0
    boxes = (
        Box((0.0, 0.0, 0.11), (length, width, 0.14), frame),
        Box((0.0, 0.0, 0.22), (length - 0.02, width - 0.02, 0.09), sheet),
        Box((head * (length / 2 - 0.12), 0.0, 0.29), (0.16, width * 0.8, 0.05), (245, 245, 245)),
        Box((head * (length / 2 + 0.02), 0.0, 0.26), (0.04, width, 0.52), frame),
        Box((-head * length * 0.15, 0.0, 0.265), (length * 0.55, width, 0.02), _pick(rng, FABRICS)),
    )
    return Item("bed", x, z, 0.0, boxes)


def table(x: float, z: float, rng: np.random.Generator) -> Item:
    wood = _pick(rng, WOODS)
    depth, width, height = rng.uniform(0.35, 0.5), rng.uniform(0.45, 0.75), rng.uniform(0.42, 0.46)
    boxes = _legs(width, depth, height - 0.03, 0.025, wood) + [
        Box((0.0, 0.0, height - 0.015), (depth, width, 0.03), wood)
    ]
    return Item("table", x, z, float(rng.uniform(-0.3, 0.3)), tuple(boxes))


def cabinet(x: float, z: float, rng: np.random.Generator) -> Item:
    wood = _pick(rng, WOODS + ((200, 200, 200),))
    w, d, h = rng.uniform(0.25, 0.4), rng.uniform(0.2, 0.28), rng.uniform(0.3, 0.45)
    boxes = (
        Box((0.0, 0.0, h / 2), (d, w, h), wood),
        Box((d / 2, 0.0, h * 0.75), (0.006, w * 0.8, 0.01), (40, 40, 40)),
    )
    return Item("cabinet", x, z, float(rng.uniform(-0.4, 0.4)) + np.pi / 2, boxes)


def plant(x: float, z: float, rng: np.random.Generator) -> Item:
    pot = hsv_colour(rng.uniform(0, 60), rng.uniform(0.3, 0.7), rng.uniform(0.4, 0.8))
    green = hsv_colour(rng.uniform(90, 150), rng.uniform(0.4, 0.8), rng.uniform(0.25, 0.6))
    size = rng.uniform(0.07, 0.11)
    leaves = tuple(
        Blob((rng.uniform(-0.05, 0.05), rng.uniform(-0.05, 0.05), 0.2 + k * size * 0.9),
             size * rng.uniform(0.8, 1.1), jitter(green, rng, 15))
        for k in range(int(rng.integers(2, 5)))
    )
    return Item("plant", x, z, 0.0, (Box((0.0, 0.0, 0.08), (0.14, 0.14, 0.16), pot),), leaves)
