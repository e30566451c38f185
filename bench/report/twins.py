"""Twins of a kd result, one setting changed (`kd_X_s48.json`, ...): finding them, showing them.

A twin is shown beside its base in a section of its own (student size, share of
unlabelled video, motion crop), not again among the kd results.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report.markdown import fill, table
from bench.report.results import Record, Results, provenance

Family = dict[Any, tuple[str, Record]]  # the varied setting's value -> (JSON name, record)


@dataclass(frozen=True)
class Variation:
    """One setting varied over twins of a kd result: `kd_X_<suffix>.json`."""

    pattern: str  # glob of the twins
    parse: Callable[[Path], tuple[str, Any] | None]  # twin -> (base JSON name, value)
    setting: str  # the base's value of it, in its settings
    default: Any


def size_variant(path: Path) -> tuple[str, int] | None:
    """`kd_X_s48.json` -> ("kd_X.json", 48): a run of X with another student input size."""
    match = re.fullmatch(r"(kd_.+)_s(\d+)", path.stem)
    return (f"{match.group(1)}.json", int(match.group(2))) if match else None


def fraction_variant(path: Path) -> tuple[str, float] | None:
    """`kd_X_u25.json` -> ("kd_X.json", 0.25): X with a quarter of the unlabelled video."""
    match = re.fullmatch(r"(kd_.+)_u(\d+)", path.stem)
    return (f"{match.group(1)}.json", int(match.group(2)) / 100) if match else None


def crop_variant(path: Path) -> tuple[str, str] | None:
    """`kd_X_crop.json` -> ("kd_X.json", "motion"): X with the student on the motion crop."""
    match = re.fullmatch(r"(kd_.+)_crop", path.stem)
    return (f"{match.group(1)}.json", "motion") if match else None


SIZES = Variation("kd_*_s*.json", size_variant, "student_size", 32)
SHARES = Variation("kd_*_u*.json", fraction_variant, "unlabeled_fraction", 1.0)
CROPS = Variation("kd_*_crop.json", crop_variant, "student_crop", "none")


def is_variant(path: Path) -> bool:
    """A twin of another kd result, shown in a section of its own."""
    return any(v.parse(path) is not None for v in (SIZES, SHARES, CROPS))


def families(results: Results, variation: Variation) -> dict[str, Family]:
    """Each kd result that has twins of this variation, with them, keyed by its JSON name."""
    found: dict[str, Family] = {}
    for path in sorted(results.root.glob(variation.pattern)):
        variant = variation.parse(path)
        base = results.get(variant[0]) if variant else None
        if variant is None or base is None:
            continue
        family = found.setdefault(variant[0], {})
        value = base.get("settings", {}).get(variation.setting, variation.default)
        family[type(variation.default)(value)] = (variant[0], base)
        family[variant[1]] = (path.name, results.get(path.name) or {})
    return found


def shared_splits(family: Family) -> list[str]:
    """The splits every member of a family ran."""
    return sorted(set.intersection(*(set(r["splits"]) for _, r in family.values())))


def over_splits(record: Record, splits: list[str], model: str, metric: str) -> float | None:
    """A model's metric averaged over splits, each split's own mean over seeds (None: absent)."""
    values = [
        record["splits"][s]["summary"].get(model, {}).get(metric, {}).get("mean") for s in splits
    ]
    return None if None in values else sum(values) / len(values)


def family_table(
    title: str, family: Family, header: list[str], rows: list[list[str]], plot: Path, alt: str
) -> str:
    """A kd result with its twins: where each came from, the table, then the plot."""
    return fill(
        "kd_family.md",
        title=title,
        provenance=" ".join(provenance(record, name) for name, record in family.values()),
        table=table(header, rows),
        alt=alt,
        plot=plot.name,
    )
