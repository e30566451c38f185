"""Label sets: which actions a model knows, which of them are falls, how severe each is.

A label set travels with a model (in its ONNX metadata), so the defaults here are only
what the synthetic dataset and a fresh install start from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


DEFAULT_LABELS: tuple[str, ...] = (
    "walking",
    "sitting_down",
    "standing_up",
    "falling",
    "lying_on_floor",
    "bending",
    "waving",
    "no_person",
)

NO_PERSON = "no_person"
# The class index of a training window nobody labelled: the KD term reads it, the
# hard-label loss and every metric leave it out.
UNLABELLED = -1
LABEL_PATTERN = r"^[a-z0-9_]{1,64}$"


def is_fall_label(name: str) -> bool:
    """A label names a fall when it is `falling` or starts with `fall` (UP-Fall's fall_*)."""
    return name == "falling" or name.startswith("fall")


def default_severity(name: str) -> Severity:
    """Falls are critical; lying on the floor is a warning (a long lie escalates at the edge)."""
    if is_fall_label(name):
        return Severity.CRITICAL
    if name in ("lying_on_floor", "lying"):
        return Severity.WARNING
    return Severity.INFO


@dataclass(frozen=True)
class LabelSet:
    """An ordered set of action labels; index i is the model's output i."""

    names: tuple[str, ...]
    falls: frozenset[str] = field(default_factory=frozenset)
    severities: Mapping[str, Severity] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.names) < 2:
            raise ValueError(f"a label set needs at least two labels, got {list(self.names)}")
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"duplicate labels in {list(self.names)}")
        unknown = (set(self.falls) | set(self.severities)) - set(self.names)
        if unknown:
            raise ValueError(f"labels {sorted(unknown)} are not in the label set")

    @classmethod
    def from_names(cls, names: Iterable[str]) -> LabelSet:
        """Build a label set, inferring falls and severities from the names."""
        ordered = tuple(names)
        return cls(
            names=ordered,
            falls=frozenset(n for n in ordered if is_fall_label(n)),
            severities={n: default_severity(n) for n in ordered},
        )

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"label {name!r} is not one of {list(self.names)}") from None

    def severity(self, name: str) -> Severity:
        return self.severities.get(name, default_severity(name))

    def fall_indices(self) -> list[int]:
        return [i for i, n in enumerate(self.names) if n in self.falls]

    def __len__(self) -> int:
        return len(self.names)


DEFAULT_LABEL_SET = LabelSet.from_names(DEFAULT_LABELS)
