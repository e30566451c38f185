"""Painting one frame of the figure: limbs as tapered capsules, far parts first.

Parts are sorted by depth (painter's algorithm), so the far arm passes behind the torso
and the near one in front, whatever way the person faces. Far-side limbs are a little
darker, the cue that separates two overlapping legs in a side view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from shared.synth.body import SIDES, BodyShape, Joint
from shared.synth.camera import Camera
from shared.synth.clothing import Appearance
from shared.synth.paint import Paint, fill_capsule, fill_circle, fill_hull, shade

FAR_SIDE_DARKER = 0.25
MASK_PAINTS: Mapping[str, Paint] = dict.fromkeys(
    ("skin", "hair", "top", "bottom", "shoes", "sleeve"), (255.0,)
)


@dataclass(frozen=True)
class FigureView:
    """One frame of the skeleton as the camera sees it."""

    pixels: np.ndarray  # (J, 2)
    depth: np.ndarray  # (J,) world Z
    scale: np.ndarray  # (J,) pixels per world unit at each joint
    yaw: float


def view_skeleton(world: np.ndarray, yaw: float, camera: Camera) -> FigureView:
    """Project world joints (J, 3) of one frame."""
    z = world[:, 2]
    return FigureView(camera.project(world), z, np.asarray(camera.pixels_per_unit(z)), yaw)


def paints_for(look: Appearance) -> dict[str, Paint]:
    sleeve = look.top if look.long_sleeves else look.skin
    hair = look.skin if look.bald else look.hair
    return {"skin": look.skin, "hair": hair, "top": look.top, "bottom": look.bottom,
            "shoes": look.shoes, "sleeve": sleeve}


# (from, to, radius at `from`, radius at `to`, paint) for the left side; right is +1.
# Radii are (BodyShape width, factor).
LIMBS = (
    (Joint.HIP_L, Joint.KNEE_L, ("thigh_w", 0.5), ("shin_w", 0.6), "bottom"),
    (Joint.KNEE_L, Joint.ANKLE_L, ("shin_w", 0.5), ("shin_w", 0.4), "bottom"),
    (Joint.ANKLE_L, Joint.TOE_L, ("ankle_h", 0.6), ("ankle_h", 0.45), "shoes"),
    (Joint.SHOULDER_L, Joint.ELBOW_L, ("arm_w", 0.5), ("arm_w", 0.45), "top"),
    (Joint.ELBOW_L, Joint.WRIST_L, ("arm_w", 0.42), ("arm_w", 0.32), "sleeve"),
)


@dataclass(frozen=True)
class Stroke:
    """One filled shape: a capsule (2 points), a circle (1 point) or a hull (more)."""

    depth: float
    points: np.ndarray
    radii: tuple[float, ...]
    colour: Paint

    def paint(self, img: np.ndarray) -> None:
        if len(self.points) == 1:
            fill_circle(img, self.points[0], self.radii[0], self.colour)
        elif len(self.points) == 2:
            ra, rb = self.radii
            fill_capsule(img, self.points[0], self.points[1], ra, rb, self.colour)
        else:
            fill_hull(img, self.points, self.colour)


def _radius(body: BodyShape, spec: tuple[str, float]) -> float:
    return float(getattr(body, spec[0])) * spec[1]


def _limb_strokes(view: FigureView, body: BodyShape, paints: Mapping[str, Paint]) -> list[Stroke]:
    """Arms and legs, the far side darker; slightly ahead of the torso at equal depth."""
    p, s, z = view.pixels, view.scale, view.depth
    strokes: list[Stroke] = []
    for i, side in enumerate(SIDES.values()):
        dark = 1.0 - FAR_SIDE_DARKER * max(0.0, side * float(np.cos(view.yaw)))
        for a, b, ra, rb, paint in LIMBS:
            ja, jb = a + i, b + i
            radii = (_radius(body, ra) * s[ja], _radius(body, rb) * s[jb])
            depth = 0.5 * float(z[ja] + z[jb]) - 0.002
            strokes.append(Stroke(depth, p[[ja, jb]], radii, shade(paints[paint], dark)))
        hand = Joint.WRIST_L + i
        strokes.append(Stroke(float(z[hand]) - 0.003, p[[hand]], (body.hand_r * s[hand],),
                              shade(paints["skin"], dark)))
    return strokes


def _head_strokes(view: FigureView, body: BodyShape, paints: Mapping[str, Paint],
                  depth: float) -> list[Stroke]:
    """The face and the hair behind it (or in front of it, seen from behind)."""
    p, s, z = view.pixels, view.scale, view.depth
    face = Stroke(depth, p[[Joint.HEAD]], (body.head_r * s[Joint.HEAD],), paints["skin"])
    hair = Stroke(depth, p[[Joint.HAIR]], (1.04 * body.head_r * s[Joint.HAIR],), paints["hair"])
    return [face, hair] if z[Joint.HAIR] < z[Joint.HEAD] else [hair, face]


def _trunk_strokes(view: FigureView, body: BodyShape, paints: Mapping[str, Paint]) -> list[Stroke]:
    """Torso, trouser top, neck and head, in that order at the torso's depth."""
    p, s = view.pixels, view.scale
    corners = list(range(Joint.TORSO, Joint.TORSO + 8))
    depth = float(np.mean(view.depth[corners]))
    hips_r = 0.55 * body.thigh_w * s[Joint.PELVIS]
    neck_r = 0.5 * body.neck_w * s[Joint.CHEST]
    return [
        Stroke(depth, p[corners], (), paints["top"]),
        Stroke(depth, p[[Joint.HIP_L, Joint.HIP_R]], (hips_r, hips_r), paints["bottom"]),
        Stroke(depth, p[[Joint.CHEST, Joint.HEAD]], (neck_r, neck_r), paints["skin"]),
        *_head_strokes(view, body, paints, depth),
    ]


def draw_figure(
    img: np.ndarray, view: FigureView, body: BodyShape, paints: Mapping[str, Paint]
) -> None:
    """Paint the figure into `img` in place, farthest part first."""
    strokes = _trunk_strokes(view, body, paints) + _limb_strokes(view, body, paints)
    for stroke in sorted(strokes, key=lambda stroke: -stroke.depth):  # stable: trunk order kept
        stroke.paint(img)
