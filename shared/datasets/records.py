"""What a dataset is made of: clips with a label and, optionally, timed sub-activities."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

_NOT_LABEL_CHARS = re.compile(r"[^a-z0-9_]+")
_REPEATED_UNDERSCORES = re.compile(r"_{2,}")


def normalise_label(name: str) -> str:
    """`Falling (BW)` -> `falling_bw`: lowercase ASCII, every run of other characters one `_`."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    label = _NOT_LABEL_CHARS.sub("_", ascii_name.strip().lower())
    label = _REPEATED_UNDERSCORES.sub("_", label).strip("_")
    if not label:
        raise ValueError(f"label {name!r} has no letters or digits")
    return label


@dataclass(frozen=True)
class Span:
    """A sub-activity of a clip between two instants, in seconds from the clip's start."""

    label: str
    start_s: float
    end_s: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start_s) and math.isfinite(self.end_s)):
            raise ValueError(f"span {self.label!r} has a non-finite bound")
        if self.start_s < 0 or self.end_s < self.start_s:
            raise ValueError(
                f"span {self.label!r} [{self.start_s} to {self.end_s}] must have 0 <= start <= end"
            )

    def covers(self, t_s: float) -> bool:
        return self.start_s <= t_s <= self.end_s


@dataclass(frozen=True)
class ClipRecord:
    """One video file of a dataset: its absolute path, label, other manifest columns, spans."""

    path: Path
    label: str
    attrs: Mapping[str, str] = field(default_factory=dict)
    spans: tuple[Span, ...] = ()
