"""Train/val/test splits by file or by manifest column; a file never straddles two splits.

Windows of one clip are near-duplicates, and two cameras of one recording show the same
moment, so splits are made of whole files, chosen by a column (`trial=3`, `camera=2`,
`subject=S1`) where the data allow it (see DESIGN.md, "Data flow" 1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from shared.datasets.records import ClipRecord

LABEL_COLUMN = "label"
_WHERE = re.compile(r"^\s*(?P<column>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>[^=\s](?:.*\S)?)\s*$")


@dataclass
class Splits:
    train: list[ClipRecord]
    val: list[ClipRecord]
    test: list[ClipRecord]


def parse_where(expr: str) -> tuple[str, str]:
    """`camera=2` -> ("camera", "2")."""
    match = _WHERE.match(expr)
    if match is None:
        raise ValueError(
            f"cannot read the selection {expr!r}: expected COLUMN=VALUE, "
            "e.g. camera=2, trial=3 or subject=S1"
        )
    return match["column"], match["value"]


def split_records(
    records: Sequence[ClipRecord],
    test_where: str | None = None,
    val_where: str | None = None,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> Splits:
    """Split clips by file: test/val by a column where given, else per label with `seed`.

    Fractions are of each label's clips (those left after a test selection, when there is
    one); a split carved this way gets at least one clip of every label that has two or
    more, and train always keeps one.
    """
    _check_fractions(val_fraction, test_fraction)
    rng = np.random.default_rng(seed)
    pool = by_path(records)
    if test_where is None:
        test, pool = carve_per_label(pool, test_fraction, rng)
    else:
        test, pool = select_where(pool, records, test_where, "test")
    if val_where is None:
        share_of_rest = val_fraction / (1 - test_fraction) if test_where is None else val_fraction
        val, train = carve_per_label(pool, share_of_rest, rng)
    else:
        val, train = select_where(pool, records, val_where, "val")
    if not train:
        raise ValueError("no clip is left for training: the selections take every clip")
    return Splits(train=by_path(train), val=by_path(val), test=by_path(test))


def select_where(
    pool: Sequence[ClipRecord], everything: Sequence[ClipRecord], where: str, split: str
) -> tuple[list[ClipRecord], list[ClipRecord]]:
    """(clips of `pool` whose column equals the value, the others)."""
    column, value = parse_where(where)
    columns = column_names(everything)
    if column not in columns:
        raise ValueError(f"{split} selection {where!r}: no column {column!r}; columns: {columns}")
    chosen = [record for record in pool if column_value(record, column) == value]
    if not chosen:
        seen = sorted({column_value(record, column) or "" for record in pool})
        raise ValueError(
            f"{split} selection {where!r} selects no clip"
            f"{' outside the test split' if split == 'val' else ''}; {column} takes {seen}"
        )
    return chosen, [record for record in pool if column_value(record, column) != value]


def column_names(records: Iterable[ClipRecord]) -> list[str]:
    """The columns a selection can use: `label` and every manifest column."""
    return sorted({LABEL_COLUMN}.union(*(record.attrs.keys() for record in records)))


def column_value(record: ClipRecord, column: str) -> str | None:
    return record.label if column == LABEL_COLUMN else record.attrs.get(column)


def carve_per_label(
    pool: Sequence[ClipRecord], fraction: float, rng: np.random.Generator
) -> tuple[list[ClipRecord], list[ClipRecord]]:
    """(a random `fraction` of each label's clips, the rest), labels taken in sorted order."""
    held: list[ClipRecord] = []
    kept: list[ClipRecord] = []
    for label in sorted({record.label for record in pool}):
        group = [record for record in pool if record.label == label]
        order = rng.permutation(len(group))
        count = holdout_count(len(group), fraction)
        held += [group[i] for i in order[:count]]
        kept += [group[i] for i in order[count:]]
    return held, kept


def by_path(records: Iterable[ClipRecord]) -> list[ClipRecord]:
    return sorted(records, key=lambda record: str(record.path))


def holdout_count(size: int, fraction: float) -> int:
    """How many of `size` clips to hold out: about `fraction`, at least 1, never all."""
    if fraction <= 0 or size < 2:
        return 0
    return min(size - 1, max(1, round(size * fraction)))


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1):
        raise ValueError(f"fractions must be in [0, 1): val {val_fraction}, test {test_fraction}")
    if val_fraction + test_fraction >= 1:
        raise ValueError(f"val {val_fraction} + test {test_fraction} leave nothing for training")
