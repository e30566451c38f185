"""Writing the synthetic dataset: class folders of mp4 clips and a manifest.

The manifest's `group` column (clip index mod 5) is a split key: `--test-where group=4`
holds out a fifth of every class without splitting at random by file. With a site seed,
a share of the clips (`site_share`, spread evenly over the indices) is filmed in that
site's room, by its camera, of its resident (`room=site`), the rest each in a room of its
own (`room=own`): a site's own footage beside varied rooms.
"""

from __future__ import annotations

import csv
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from shared.labels import DEFAULT_LABELS
from shared.synth.actions import ACTIONS
from shared.synth.render import check_request, render_clip
from shared.video import write_video

MANIFEST_COLUMNS = ("path", "label", "seed", "group", "room")
GROUPS = 5


def clip_seed(seed: int, label: str, index: int) -> int:
    """A clip's own seed from the dataset seed, its label and index; stable across runs."""
    # crc32, not hash(): str hashes change between Python processes.
    entropy = [seed, zlib.crc32(label.encode("utf-8")), index]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def clip_path(label: str, index: int) -> str:
    return f"{label}/{label}_{index:04d}.mp4"


def _check(clips_per_class: int, labels: Sequence[str]) -> None:
    if clips_per_class < 1:
        raise ValueError(f"clips_per_class must be at least 1, got {clips_per_class}")
    unknown = [label for label in labels if label not in ACTIONS]
    if unknown or not labels:
        raise ValueError(f"cannot synthesise labels {unknown or '(none)'}; known: {list(ACTIONS)}")


def write_synth_dataset(
    out: Path,
    clips_per_class: int = 50,
    seed: int = 0,
    size: int = 112,
    seconds: float = 3.0,
    fps: float = 15.0,
    labels: Sequence[str] = DEFAULT_LABELS,
    progress: Callable[[int, int], None] | None = None,
    site_seed: int | None = None,
    site_share: float = 0.5,
) -> Path:
    """Write `out/<label>/<label>_NNNN.mp4` for every label and `out/manifest.csv`."""
    _check(clips_per_class, labels)
    check_request(size, seconds, fps)
    out = Path(out)
    rows, total = [], len(labels) * clips_per_class
    for label in labels:
        for index in range(clips_per_class):
            own_seed = clip_seed(seed, label, index)
            path = clip_path(label, index)
            at_site = site_seed is not None and (index * site_share) % 1.0 < site_share
            site = site_seed if at_site else None
            frames = render_clip(label, own_seed, size, seconds, fps, site)
            write_video(out / path, frames, fps)
            room = "own" if site is None else "site"
            rows.append((path, label, str(own_seed), str(index % GROUPS), room))
            if progress is not None:
                progress(len(rows), total)
    manifest = out / "manifest.csv"
    with manifest.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(MANIFEST_COLUMNS)
        writer.writerows(rows)
    return manifest
