"""A level pinhole camera looking into the room; world units are person heights.

World points are (X, U, Z): X across (+ right), U up from the floor, Z away from the
camera. The camera sits `height` above the floor looking horizontally, so the floor
meets the eye line at `horizon` (a fraction of the frame height).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Camera:
    size: int  # square frame, pixels
    horizon: float  # eye line, fraction of the frame height from the top
    height: float  # above the floor, person heights
    focal: float = 1.0  # frame widths per world unit at Z = 1

    def project(self, points: np.ndarray) -> np.ndarray:
        """Pixel (x, y) of world points (..., 3)."""
        z = points[..., 2]
        k = self.size * self.focal / z
        x = self.size * 0.5 + points[..., 0] * k
        y = self.size * self.horizon + (self.height - points[..., 1]) * k
        return np.stack([x, y], axis=-1)

    def pixels_per_unit(self, z: float | np.ndarray) -> float | np.ndarray:
        return self.size * self.focal / z

    def floor_y(self, z: float) -> float:
        """Pixel row where the floor at depth z appears."""
        return self.size * (self.horizon + self.focal * self.height / z)

    def half_width_at(self, z: float) -> float:
        """Half the visible width, in world units, at depth z."""
        return 0.5 * z / self.focal

    def nearest_floor_z(self) -> float:
        """Depth of the floor seen at the bottom row."""
        return self.focal * self.height / (1.0 - self.horizon)
