"""Things that move in an empty room: a curtain swaying and a TV flickering.

They are what a model must learn is *not* a person; their timing comes from their own
random stream, so a clip and its `no_person` twin (same seed) show the same motion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared.synth.camera import Camera
from shared.synth.clothing import Colour, hsv_colour
from shared.synth.paint import fill_convex, fill_polygon
from shared.synth.wall_decor import WallRect

CURTAIN_POINTS = 7


@dataclass(frozen=True)
class Curtains:
    window: WallRect
    colour: Colour
    sway: float  # world units at the hem; 0 keeps them still
    hz: float
    phase: float


@dataclass(frozen=True)
class TvFrames:
    """Per-frame screen content: a main colour, a band colour and where the band starts."""

    main: np.ndarray  # (N, 3)
    band: np.ndarray  # (N, 3)
    split: np.ndarray  # (N,) fraction of the screen height


def random_curtains(rng: np.random.Generator, window: WallRect, sway: bool) -> Curtains:
    colour = hsv_colour(rng.uniform(0, 360), rng.uniform(0.1, 0.6), rng.uniform(0.5, 0.95))
    amplitude = rng.uniform(0.05, 0.12) if sway else 0.0
    return Curtains(window, colour, amplitude, rng.uniform(0.3, 0.8), rng.uniform(0, 2 * np.pi))


def tv_frames(rng: np.random.Generator, frames: int, fps: float) -> TvFrames:
    """Shots of 0.4-2.5 s, each two colours, with a per-frame brightness flicker."""
    main, band, split = np.zeros((frames, 3)), np.zeros((frames, 3)), np.zeros(frames)
    start = 0
    while start < frames:
        length = max(1, int(rng.uniform(0.4, 2.5) * fps))
        shot = slice(start, start + length)
        main[shot] = [hsv_colour(rng.uniform(0, 360), rng.uniform(0.2, 0.9), rng.uniform(0.3, 1))]
        band[shot] = [hsv_colour(rng.uniform(0, 360), rng.uniform(0.2, 0.9), rng.uniform(0.2, 1))]
        split[shot] = rng.uniform(0.3, 0.9)
        start += length
    flicker = rng.uniform(0.82, 1.1, (frames, 1))
    return TvFrames(np.clip(main * flicker, 0, 255), np.clip(band * flicker, 0, 255), split)


def _on_wall(camera: Camera, wall_z: float, x: np.ndarray, u: np.ndarray) -> np.ndarray:
    return camera.project(np.stack([x, u, np.full_like(x, wall_z)], axis=-1))


def _panel(c: Curtains, outer: float, inner: float, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Outline (x, u) of one curtain panel whose inner edge sways most at the hem."""
    w = c.window
    top, hem = w.u1 + 0.06, w.u0 - 0.1
    u = np.linspace(top, hem, CURTAIN_POINTS)
    depth = (top - u) / (top - hem)
    direction = np.sign(inner - outer)
    swing = c.sway * np.sin(2 * np.pi * c.hz * t + c.phase + 2.0 * depth) * depth**1.5
    inner_x = inner + direction * swing
    xs = np.concatenate([[outer, outer], inner_x[::-1]])
    us = np.concatenate([[top, hem], u[::-1]])
    return xs, us


def draw_curtains(img: np.ndarray, c: Curtains, camera: Camera, wall_z: float, t: float) -> None:
    w = c.window
    cover = 0.28 * (w.x1 - w.x0)
    for outer, inner in ((w.x0 - 0.07, w.x0 + cover), (w.x1 + 0.07, w.x1 - cover)):
        xs, us = _panel(c, outer, inner, t)
        fill_polygon(img, _on_wall(camera, wall_z, xs, us), c.colour)


def draw_tv(img: np.ndarray, screen: WallRect, camera: Camera, wall_z: float,
            content: TvFrames, frame: int) -> None:
    """The lit screen of a TV whose frame is part of the static wall."""
    inset = 0.015
    x0, x1, u0, u1 = screen.x0 + inset, screen.x1 - inset, screen.u0 + inset, screen.u1 - inset
    cut = u1 - content.split[frame] * (u1 - u0)
    for top, bottom, colour in ((u1, cut, content.main[frame]), (cut, u0, content.band[frame])):
        xs, us = np.array([x0, x1, x1, x0]), np.array([top, top, bottom, bottom])
        fill_convex(img, _on_wall(camera, wall_z, xs, us), tuple(float(v) for v in colour))
