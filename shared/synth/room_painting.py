"""Painting a room once per clip: the background, and furniture layers with coverage.

Furniture is kept as premultiplied colour plus coverage (alpha) so it can be laid over
each frame after the person (and the distractors) are drawn, keeping anti-aliased edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from shared.synth.camera import Camera
from shared.synth.clothing import Colour
from shared.synth.distractors import draw_curtains
from shared.synth.furniture import Item
from shared.synth.furniture_drawing import draw_items
from shared.synth.paint import draw_line, fill_circle, fill_convex, fill_polygon, shade
from shared.synth.room import NEAR_ITEM, Room
from shared.synth.wall_decor import WallRect

NEAR_Z = 0.4  # where floor lines end, in front of the camera's lowest view
WALL_TOP = 6.0  # tall enough to leave the frame at the top


@dataclass(frozen=True)
class Overlay:
    """Premultiplied colour and coverage of a static layer, cropped to where it covers."""

    colour: np.ndarray  # (h, w, 3) float32
    alpha: np.ndarray  # (h, w, 1) float32, 0..1
    rows: slice
    cols: slice

    def over(self, frame: np.ndarray) -> None:
        """Lay this layer over `frame` (uint8, in place)."""
        region = frame[self.rows, self.cols]
        blended = region * (1.0 - self.alpha) + self.colour
        region[:] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def _plane(camera: Camera, points: list[tuple[float, float, float]]) -> np.ndarray:
    return camera.project(np.asarray(points, dtype=np.float64))


def _vertical_gradient(size: int, colour: Colour, top: float, bottom: float) -> np.ndarray:
    ramp = np.linspace(top, bottom, size, dtype=np.float32)[:, None, None]
    return np.clip(ramp * np.asarray(colour, dtype=np.float32), 0, 255) * np.ones((1, size, 1))


def _floor_lines(img: np.ndarray, room: Room, width: int) -> None:
    cam, z_far = room.camera, room.wall_z
    colour = shade(room.floor, 0.8 if room.floor_kind == "boards" else 0.88)
    reach = cam.half_width_at(z_far) + 1.0
    for x in np.arange(-reach, reach, room.board):
        ends = _plane(cam, [(x, 0.0, z_far), (x, 0.0, NEAR_Z)])
        draw_line(img, ends[0], ends[1], colour, width)
    if room.floor_kind == "tiles":
        for z in np.arange(z_far, NEAR_Z, -2 * room.board):
            ends = _plane(cam, [(-50.0, 0.0, z), (50.0, 0.0, z)])
            draw_line(img, ends[0], ends[1], colour, width)


def _floor(room: Room, rng: np.random.Generator) -> np.ndarray:
    size = room.camera.size
    img = np.empty((size, size, 3), np.uint8)
    img[:] = room.floor
    if room.floor_kind == "carpet":
        mottle = cv2.resize(rng.normal(0, 1, (24, 24)).astype(np.float32), (size, size))
        img[:] = np.clip(img + 5 * mottle[..., None], 0, 255).astype(np.uint8)
    else:
        _floor_lines(img, room, max(1, size // 200))
    return img


def _blend_walls(img: np.ndarray, room: Room) -> None:
    cam, size, z = room.camera, room.camera.size, room.wall_z
    high, low = WALL_TOP, 0.0
    back = [(room.left, low, z), (room.right, low, z), (room.right, high, z), (room.left, high, z)]
    sides = [[(x, low, z), (x, high, z), (x, high, NEAR_Z), (x, low, NEAR_Z)]
             for x in (room.left, room.right)]
    for polygon, colour in [(back, room.wall)] + [(s, room.side_wall) for s in sides]:
        mask = np.zeros((size, size), np.uint8)
        fill_polygon(mask, _plane(cam, polygon), (255.0,))
        alpha = mask[..., None].astype(np.float32) / 255.0
        paint = _vertical_gradient(size, colour, 0.88, 1.04)
        img[:] = np.clip(img * (1 - alpha) + paint * alpha + 0.5, 0, 255).astype(np.uint8)


def _skirting(img: np.ndarray, room: Room) -> None:
    z = room.wall_z
    strip = [(room.left, 0.0, z), (room.right, 0.0, z), (room.right, 0.05, z),
             (room.left, 0.05, z)]
    fill_convex(img, _plane(room.camera, strip), shade(room.wall, 1.12))


def _rect(camera: Camera, z: float, x0: float, x1: float, u0: float, u1: float) -> np.ndarray:
    return _plane(camera, [(x0, u0, z), (x1, u0, z), (x1, u1, z), (x0, u1, z)])


def _decor(img: np.ndarray, d: WallRect, camera: Camera, z: float) -> None:
    fill_convex(img, _rect(camera, z, d.x0, d.x1, d.u0, d.u1), d.colour)
    inset = 0.03 if d.kind != "tv" else 0.015
    fill_convex(img, _rect(camera, z, d.x0 + inset, d.x1 - inset, d.u0 + inset,
                           d.u1 - inset), d.inner)
    if d.kind == "window":
        mid_x, mid_u = 0.5 * (d.x0 + d.x1), 0.5 * (d.u0 + d.u1)
        bars = _plane(camera, [(mid_x, d.u0, z), (mid_x, d.u1, z), (d.x0, mid_u, z),
                               (d.x1, mid_u, z)])
        width = max(1, camera.size // 100)
        draw_line(img, bars[0], bars[1], d.colour, width)
        draw_line(img, bars[2], bars[3], d.colour, width)
    if d.kind == "door":
        knob = _plane(camera, [(d.x1 - 0.06, 0.55, z)])[0]
        fill_circle(img, knob, 0.02 * float(camera.pixels_per_unit(z)), (60, 160, 200))


def paint_background(room: Room) -> np.ndarray:
    """Floor, walls and wall decor; still curtains too (swaying ones are drawn per frame)."""
    img = _floor(room, np.random.default_rng(room.texture_seed))
    _blend_walls(img, room)
    _skirting(img, room)
    for d in room.decor:
        _decor(img, d, room.camera, room.wall_z)
    if room.curtains is not None and room.curtains.sway == 0.0:
        draw_curtains(img, room.curtains, room.camera, room.wall_z, 0.0)
    return img


def _overlay(items: list[Item], camera: Camera) -> Overlay | None:
    size = camera.size
    colour = np.zeros((size, size, 3), np.uint8)
    alpha = np.zeros((size, size), np.uint8)
    draw_items(colour, alpha, items, camera)
    ys, xs = np.nonzero(alpha)
    if len(ys) == 0:
        return None
    rows, cols = slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)
    # Drawn on black, the anti-aliased colour is already multiplied by its coverage.
    a = alpha[rows, cols, None].astype(np.float32) / 255.0
    return Overlay(colour[rows, cols].astype(np.float32), a, rows, cols)


def furniture_overlays(room: Room) -> tuple[Overlay | None, Overlay | None]:
    """(behind the person, in front of the person): split by depth against the lane."""
    behind = [item for item in room.items if item.z >= room.lane_z - NEAR_ITEM]
    front = [item for item in room.items if item.z < room.lane_z - NEAR_ITEM]
    return _overlay(behind, room.camera), _overlay(front, room.camera)
