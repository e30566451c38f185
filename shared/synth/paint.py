"""Anti-aliased OpenCV primitives at sub-pixel precision.

OpenCV drawing takes integer points; with `shift` bits of fixed point a limb 1.5 px
wide at 32-112 px frames keeps its real width and position instead of snapping to the
pixel grid (which would make slow motion jump a whole pixel at a time).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

SHIFT = 4
ONE = 1 << SHIFT

Paint = Sequence[float]


def fixed(points: np.ndarray) -> np.ndarray:
    """Pixel coordinates as int32 fixed point for OpenCV's `shift` argument."""
    return np.round(np.asarray(points, dtype=np.float64) * ONE).astype(np.int32)


def shade(colour: Paint, factor: float) -> tuple[float, ...]:
    return tuple(min(255.0, c * factor) for c in colour)


def fill_circle(img: np.ndarray, centre: np.ndarray, radius: float, colour: Paint) -> None:
    c = fixed(centre)
    r = max(int(round(radius * ONE)), 1)
    cv2.circle(img, (int(c[0]), int(c[1])), r, tuple(colour), -1, cv2.LINE_AA, SHIFT)


def fill_convex(img: np.ndarray, points: np.ndarray, colour: Paint) -> None:
    cv2.fillConvexPoly(img, fixed(points), tuple(colour), cv2.LINE_AA, SHIFT)


def fill_polygon(img: np.ndarray, points: np.ndarray, colour: Paint) -> None:
    cv2.fillPoly(img, [fixed(points)], tuple(colour), cv2.LINE_AA, SHIFT)


def fill_hull(img: np.ndarray, points: np.ndarray, colour: Paint) -> None:
    """Fill the convex hull of any set of points (the projection of a box)."""
    hull = cv2.convexHull(fixed(points).reshape(-1, 1, 2))
    cv2.fillConvexPoly(img, hull, tuple(colour), cv2.LINE_AA, SHIFT)


def fill_capsule(
    img: np.ndarray, a: np.ndarray, b: np.ndarray, ra: float, rb: float, colour: Paint
) -> None:
    """A limb: a tapered band from a (radius ra) to b (radius rb) with round ends."""
    d = b - a
    length = float(np.hypot(d[0], d[1]))
    if length > 1e-6:
        n = np.array([-d[1], d[0]]) / length
        fill_convex(img, np.array([a + n * ra, b + n * rb, b - n * rb, a - n * ra]), colour)
    fill_circle(img, a, ra, colour)
    fill_circle(img, b, rb, colour)


def draw_line(img: np.ndarray, a: np.ndarray, b: np.ndarray, colour: Paint, width: int) -> None:
    pa, pb = fixed(a), fixed(b)
    cv2.line(
        img, (int(pa[0]), int(pa[1])), (int(pb[0]), int(pb[1])), tuple(colour),
        max(width, 1), cv2.LINE_AA, SHIFT,
    )
