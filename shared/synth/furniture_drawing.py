"""Painting furniture: visible box faces, shaded by which way they face, far first."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from shared.synth.camera import Camera
from shared.synth.furniture import Blob, Box, Item
from shared.synth.paint import fill_circle, fill_convex, shade

# Corner k of a box has signs (bit 0: f, bit 1: l, bit 2: u).
CORNER_SIGNS = np.array([[(k & 1) * 2 - 1, (k >> 1 & 1) * 2 - 1, (k >> 2 & 1) * 2 - 1]
                         for k in range(8)], dtype=np.float64)
# (corners in order around the face, local outward axis, sign, brightness)
FACES = (
    ((0, 2, 6, 4), 0, -1.0, 0.82),
    ((1, 3, 7, 5), 0, 1.0, 0.95),
    ((0, 1, 5, 4), 1, -1.0, 0.9),
    ((2, 3, 7, 6), 1, 1.0, 0.76),
    ((0, 1, 3, 2), 2, -1.0, 0.55),
    ((4, 5, 7, 6), 2, 1.0, 1.12),
)

Painter = tuple[float, Callable[[np.ndarray, np.ndarray], None]]


def _outward(item: Item, axis: int, sign: float) -> np.ndarray:
    local = np.zeros(3)
    local[axis] = sign
    return item.to_world(local) - item.to_world(np.zeros(3))


def _box_painters(item: Item, box: Box, camera: Camera) -> list[Painter]:
    corners = item.to_world(np.asarray(box.centre) + 0.5 * CORNER_SIGNS * np.asarray(box.size))
    eye = np.array([0.0, camera.height, 0.0])
    pixels = camera.project(corners)
    painters: list[Painter] = []
    for index, axis, sign, brightness in FACES:
        centre = corners[list(index)].mean(axis=0)
        if np.dot(eye - centre, _outward(item, axis, sign)) <= 0:
            continue  # faces away from the camera
        quad, colour = pixels[list(index)], shade(box.colour, brightness)

        def paint(img: np.ndarray, alpha: np.ndarray, q: np.ndarray = quad,
                  c: tuple[float, ...] = colour) -> None:
            fill_convex(img, q, c)
            fill_convex(alpha, q, (255.0,))

        painters.append((float(centre[2]) - 1e-3 * float(centre[1]), paint))
    return painters


def _blob_painter(item: Item, blob: Blob, camera: Camera) -> Painter:
    centre = item.to_world(np.asarray(blob.centre))
    pixel = camera.project(centre)
    radius = blob.radius * float(camera.pixels_per_unit(centre[2]))

    def paint(img: np.ndarray, alpha: np.ndarray) -> None:
        fill_circle(img, pixel, radius, blob.colour)
        fill_circle(alpha, pixel, radius, (255.0,))

    return float(centre[2]), paint


def draw_items(img: np.ndarray, alpha: np.ndarray, items: list[Item], camera: Camera) -> None:
    """Paint items into `img` and their coverage into `alpha`, farthest face first."""
    painters: list[Painter] = []
    for item in items:
        painters += [p for box in item.boxes for p in _box_painters(item, box, camera)]
        painters += [_blob_painter(item, blob, camera) for blob in item.blobs]
    for _, paint in sorted(painters, key=lambda p: -p[0]):
        paint(img, alpha)
