"""A random room: camera, walls, floor style, wall decor and furniture placement.

The person acts along one line across the floor (the lane, at depth `lane_z`), where
the chair stands; furniture nearer the camera than the lane hides part of the person.
A room depends only on its own random stream, so every action rendered with the same
seed happens in the same room (the `no_person` clip is that room's background).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from shared.synth.body import BodyShape
from shared.synth.camera import Camera
from shared.synth.clothing import Colour, hsv_colour, jitter
from shared.synth.distractors import Curtains, random_curtains
from shared.synth.furniture import Item, bed, cabinet, chair, plant, seated_pelvis_offset, table
from shared.synth.wall_decor import WallRect, random_decor

FLOOR_KINDS = ("boards", "tiles", "carpet")
NEAR_ITEM = 0.15  # items this much nearer than the lane are drawn over the person
LANE_MARGIN = 0.4  # keeps a lying body (pelvis +- half a height) mostly in view


@dataclass(frozen=True)
class Stage:
    """Where the person may act: the lane's span and the seat, in world units."""

    x_min: float
    x_max: float
    seat_x: float  # pelvis X when seated
    seat_yaw: float  # facing when seated
    hidden: tuple[tuple[float, float], ...] = ()  # lane spans behind furniture nearer the camera


@dataclass(frozen=True)
class Room:
    camera: Camera
    wall_z: float
    left: float  # side walls at X = left and X = right (outside the view when far)
    right: float
    lane_z: float
    wall: Colour
    side_wall: Colour
    floor: Colour
    floor_kind: str
    board: float  # board or tile width, world units
    decor: tuple[WallRect, ...]
    items: tuple[Item, ...]
    stage: Stage
    curtains: Curtains | None
    tv: WallRect | None  # a lit screen: its picture changes (a distractor)
    texture_seed: int  # floor grain and carpet mottling


def random_camera(rng: np.random.Generator, size: int, lane_z: float) -> Camera:
    """A camera high on a wall; the lane's floor stays inside the frame."""
    height = rng.uniform(1.15, 1.5)
    highest_horizon = min(0.35, 0.93 - height / lane_z)
    return Camera(size=size, horizon=rng.uniform(0.12, max(0.13, highest_horizon)), height=height)


def _wall_colours(rng: np.random.Generator) -> tuple[Colour, Colour]:
    wall = hsv_colour(rng.uniform(0, 360), rng.uniform(0.03, 0.35), rng.uniform(0.55, 0.95))
    dim = rng.uniform(0.78, 0.92)
    side = (int(wall[0] * dim), int(wall[1] * dim), int(wall[2] * dim))
    return wall, jitter(side, rng, 6)


def _floor_colour(rng: np.random.Generator, kind: str) -> Colour:
    if kind == "boards":
        return hsv_colour(rng.uniform(15, 40), rng.uniform(0.35, 0.7), rng.uniform(0.3, 0.75))
    return hsv_colour(rng.uniform(0, 360), rng.uniform(0.0, 0.3), rng.uniform(0.3, 0.85))


def _stage(rng: np.random.Generator, camera: Camera, lane_z: float, left: float,
           right: float) -> Stage:
    half = camera.half_width_at(lane_z)
    x_min, x_max = max(-half, left) + LANE_MARGIN, min(half, right) - LANE_MARGIN
    seat_x = rng.uniform(x_min + 0.1, x_max - 0.1)
    towards_camera = rng.uniform(-0.45, 0.55)  # a 3/4 view when not zero
    seat_yaw = towards_camera if seat_x < 0 else np.pi - towards_camera
    return Stage(x_min=x_min, x_max=x_max, seat_x=seat_x, seat_yaw=float(seat_yaw))


def _chair_for(stage: Stage, lane_z: float, body: BodyShape, rng: np.random.Generator) -> Item:
    """The chair placed so that a seated pelvis lands on the lane at the seat."""
    back = seated_pelvis_offset()
    c, s = np.cos(stage.seat_yaw), np.sin(stage.seat_yaw)
    x, z = stage.seat_x - back * c, lane_z + back * s + 0.02
    return chair(x, z, stage.seat_yaw, body.seat_height, rng)


def _x_in_view(rng: np.random.Generator, camera: Camera, z: float, room: tuple[float, float],
               width: float) -> float:
    half = camera.half_width_at(z)
    lo, hi = max(-half, room[0]) + width / 2, min(half, room[1]) - width / 2
    return float(rng.uniform(lo, max(lo, hi)))


def _other_items(rng: np.random.Generator, camera: Camera, wall_z: float, lane_z: float,
                 walls: tuple[float, float]) -> list[Item]:
    items: list[Item] = []
    if rng.random() < 0.6:
        items.append(bed(_x_in_view(rng, camera, wall_z, walls, 1.3), wall_z - 0.32, rng))
    if rng.random() < 0.5:
        z = rng.uniform(lane_z + 0.6, wall_z - 0.35)
        maker = table if rng.random() < 0.5 else cabinet
        items.append(maker(_x_in_view(rng, camera, z, walls, 0.6), z, rng))
    nearest = camera.nearest_floor_z() + 0.3
    if rng.random() < 0.4 and lane_z - 0.5 > nearest:
        z = rng.uniform(max(nearest, lane_z - 1.3), lane_z - 0.5)
        maker = (table, cabinet, plant)[rng.integers(3)]
        items.append(maker(_x_in_view(rng, camera, z, walls, 0.5), z, rng))
    return items


def _side_walls(rng: np.random.Generator, camera: Camera, wall_z: float) -> tuple[float, float]:
    """X of the side walls; far outside the view when the room is wider than the frame."""
    half = camera.half_width_at(wall_z)
    far = 10.0 * half
    left = -half * rng.uniform(0.6, 0.95) if rng.random() < 0.5 else -far
    right = half * rng.uniform(0.6, 0.95) if rng.random() < 0.5 else far
    return left, right


def _find(decor: tuple[WallRect, ...], kind: str) -> WallRect | None:
    return next((d for d in decor if d.kind == kind), None)


def _curtains(rng: np.random.Generator, decor: tuple[WallRect, ...]) -> Curtains | None:
    window = _find(decor, "window")
    return random_curtains(rng, window, sway=rng.random() < 0.6) if window else None


def _lane_span(item: Item, camera: Camera, lane_z: float) -> tuple[float, float]:
    """The stretch of the lane that `item` (nearer the camera) hides from it."""
    corners = np.array([box.centre for box in item.boxes] + [b.centre for b in item.blobs])
    reach = max(max(box.size) for box in item.boxes)
    spread = np.array([[dx, 0.0, dz] for dx in (-reach, reach) for dz in (-reach, reach)])
    points = item.to_world((corners[:, None, :] + spread[None]).reshape(-1, 3))
    columns = camera.project(points)[:, 0] / camera.size - 0.5
    lane_x = columns * lane_z / camera.focal
    return float(lane_x.min()), float(lane_x.max())


def random_room(rng: np.random.Generator, size: int, body: BodyShape) -> Room:
    """A room for a person of `body` (the chair's seat fits their legs)."""
    lane_z = rng.uniform(2.2, 3.8)
    camera = random_camera(rng, size, lane_z)
    wall_z = lane_z + rng.uniform(1.2, 2.8)
    left, right = _side_walls(rng, camera, wall_z)
    stage = _stage(rng, camera, lane_z, left, right)
    wall, side_wall = _wall_colours(rng)
    floor_kind = FLOOR_KINDS[rng.integers(len(FLOOR_KINDS))]
    decor = random_decor(rng, camera, wall_z, (left, right))
    items = [_chair_for(stage, lane_z, body, rng)] + _other_items(
        rng, camera, wall_z, lane_z, (left, right)
    )
    near = [i for i in items if i.z < lane_z - NEAR_ITEM]
    stage = replace(stage, hidden=tuple(_lane_span(i, camera, lane_z) for i in near))
    return Room(
        camera=camera, wall_z=wall_z, left=left, right=right, lane_z=lane_z, wall=wall,
        side_wall=side_wall, floor=_floor_colour(rng, floor_kind), floor_kind=floor_kind,
        board=rng.uniform(0.1, 0.3), decor=decor, items=tuple(items), stage=stage,
        curtains=_curtains(rng, decor), tv=_find(decor, "tv"),
        texture_seed=int(rng.integers(2**31)),
    )
