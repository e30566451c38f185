"""Deterministic synthetic indoor scenes: one articulated person, a room, a camera.

numpy and OpenCV only (the edge installs no torch). Everything follows from a seed.
"""

from shared.synth.dataset import clip_seed, write_synth_dataset
from shared.synth.render import RenderedClip, render_clip, render_clip_with_masks
from shared.synth.scenario import DEFAULT_SCENARIO, parse_script, timeline, write_scenario

__all__ = [
    "DEFAULT_SCENARIO",
    "RenderedClip",
    "clip_seed",
    "parse_script",
    "render_clip",
    "render_clip_with_masks",
    "timeline",
    "write_scenario",
    "write_synth_dataset",
]
