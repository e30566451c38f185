"""Everything about a clip that does not depend on the action: person, room, camera.

Each part draws from its own random stream of the seed, so the same seed gives the same
room, person and camera noise whichever action is rendered in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared.synth.body import BodyShape, random_body
from shared.synth.clothing import Appearance, random_appearance
from shared.synth.postures import Setting
from shared.synth.room import Room, random_room
from shared.synth.sensor import Sensor, random_sensor

STREAMS = ("person", "room", "camera", "motion", "distractor", "shake", "noise")


def stream(seed: int, name: str) -> np.random.Generator:
    """The random stream `name` of `seed`, independent of every other stream."""
    return np.random.default_rng([seed, STREAMS.index(name)])


@dataclass(frozen=True)
class Scene:
    body: BodyShape
    look: Appearance
    room: Room
    setting: Setting
    sensor: Sensor


def build_scene(seed: int, size: int, site: int | None = None) -> Scene:
    """The person, room and camera of `site` (default: `seed`); everything else of `seed`.

    A site seed stands for one care-home room: its camera and its resident. Clips rendered
    with it are that room's own footage (other moments, other motions, other distractors).
    """
    place = seed if site is None else site
    person = stream(place, "person")
    body = random_body(person)
    room = random_room(stream(place, "room"), size, body)
    look = random_appearance(person, avoid=(room.wall, room.floor))
    setting = Setting(body=body, stage=room.stage, speed=float(person.uniform(0.28, 0.5)),
                      stoop=float(person.uniform(0.0, 0.2)))
    return Scene(body, look, room, setting, random_sensor(stream(place, "camera"), size))
