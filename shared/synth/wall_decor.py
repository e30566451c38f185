"""Things on the back wall: a window, a door, a TV, pictures and a clock."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared.synth.camera import Camera
from shared.synth.clothing import Colour, hsv_colour
from shared.synth.furniture import WOODS

FRAME_WHITE: Colour = (235, 235, 235)
CURTAIN_ROOM = 0.1  # curtains hang past the window's sides


@dataclass(frozen=True)
class WallRect:
    """A rectangle on the back wall, in world X and height U."""

    kind: str  # window, door, tv, picture, clock
    x0: float
    x1: float
    u0: float
    u1: float
    colour: Colour  # frame
    inner: Colour  # glass, panel, screen or canvas


def _window(rng: np.random.Generator) -> tuple[float, float, float, Colour, Colour]:
    sky = hsv_colour(rng.uniform(190, 220), rng.uniform(0.1, 0.4), rng.uniform(0.8, 1.0))
    frame = FRAME_WHITE if rng.random() < 0.6 else WOODS[rng.integers(len(WOODS))]
    return rng.uniform(0.5, 0.9), rng.uniform(0.5, 0.62), rng.uniform(0.6, 0.8), frame, sky


def _door(rng: np.random.Generator) -> tuple[float, float, float, Colour, Colour]:
    wood = WOODS[rng.integers(len(WOODS))]
    panel = wood if rng.random() < 0.5 else FRAME_WHITE
    return rng.uniform(0.48, 0.56), 0.0, rng.uniform(1.15, 1.25), wood, panel


def _tv(rng: np.random.Generator) -> tuple[float, float, float, Colour, Colour]:
    width = rng.uniform(0.4, 0.6)
    return width, rng.uniform(0.7, 0.85), width * 9 / 16, (20, 20, 20), (60, 50, 40)


def _picture(rng: np.random.Generator) -> tuple[float, float, float, Colour, Colour]:
    canvas = hsv_colour(rng.uniform(0, 360), rng.uniform(0.2, 0.8), rng.uniform(0.3, 0.9))
    side = rng.uniform(0.15, 0.35)
    frame = WOODS[rng.integers(len(WOODS))]
    return side * rng.uniform(0.8, 1.4), rng.uniform(0.8, 1.0), side, frame, canvas


def _clock(rng: np.random.Generator) -> tuple[float, float, float, Colour, Colour]:
    return 0.14, rng.uniform(1.05, 1.2), 0.14, (40, 40, 40), (240, 240, 240)


MAKERS = {"window": _window, "door": _door, "tv": _tv, "picture": _picture, "clock": _clock}
CHANCE = {"window": 0.6, "door": 0.35, "tv": 0.35, "picture": 0.7, "clock": 0.3}


def _free(taken: list[tuple[float, float]], x0: float, x1: float) -> bool:
    return all(x1 + 0.05 < a or x0 - 0.05 > b for a, b in taken)


def random_decor(rng: np.random.Generator, camera: Camera, wall_z: float,
                 walls: tuple[float, float]) -> tuple[WallRect, ...]:
    """Decor placed side by side without overlapping, within the visible back wall."""
    half = camera.half_width_at(wall_z)
    lo, hi = max(-half, walls[0]), min(half, walls[1])
    taken: list[tuple[float, float]] = []
    decor: list[WallRect] = []
    for kind, maker in MAKERS.items():
        if rng.random() >= CHANCE[kind]:
            continue
        width, u0, height, frame, inner = maker(rng)
        beside = CURTAIN_ROOM if kind == "window" else 0.0
        for _ in range(12):
            x0 = rng.uniform(lo, max(lo, hi - width))
            if _free(taken, x0 - beside, x0 + width + beside):
                taken.append((x0 - beside, x0 + width + beside))
                decor.append(WallRect(kind, x0, x0 + width, u0, u0 + height, frame, inner))
                break
    return tuple(decor)
