"""Timed sub-activities: parse GMDCSA-style `classes_sec` text and label an instant of a clip.

A fall clip is mostly not falling (the person walks, then falls, then lies still), so a
window is labelled by the span it falls in rather than by the clip's folder.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from shared.datasets.records import ClipRecord, Span, normalise_label

# `Name[a to b]` or `Name [a to b; c to d]`, entries separated by `;` (GMDCSA24 writes
# both `Falling (BW)[0.4 to 4]` and `Falling (BW) [0.3 to 5]`).
_ENTRY = re.compile(r"\s*(?P<name>[^\[\];]*?)\s*\[(?P<ranges>[^\[\]]*)\]\s*(?:;\s*|$)")
_RANGE = re.compile(r"^\s*(?P<start>\S+)\s+to\s+(?P<end>\S+)\s*$")
_FORMAT_HINT = "expected entries like `Walking[0 to 3.6]; Standing[0 to 0.3; 1.5 to 2.2]`"


def parse_spans(text: str) -> tuple[Span, ...]:
    """Read `Walking[0 to 3.6]; Falling (BW) [3.6 to 8]` into spans with normalised labels."""
    text = text.strip()
    spans: list[Span] = []
    position = 0
    while position < len(text):
        entry = _ENTRY.match(text, position)
        if entry is None or not entry["name"]:
            raise ValueError(f"cannot read time spans at {text[position:]!r}; {_FORMAT_HINT}")
        label = normalise_label(entry["name"])
        spans.extend(_parse_range(label, part) for part in entry["ranges"].split(";"))
        position = entry.end()
    return tuple(spans)


def _parse_range(label: str, text: str) -> Span:
    bounds = _RANGE.match(text)
    if bounds is None:
        raise ValueError(f"cannot read the time range {text!r} of {label!r}; {_FORMAT_HINT}")
    return Span(label, _seconds(bounds["start"], label), _seconds(bounds["end"], label))


def _seconds(token: str, label: str) -> float:
    try:
        value = float(token)
    except ValueError:
        raise ValueError(f"{token!r} in the span of {label!r} is not a number of seconds") from None
    if not math.isfinite(value):
        raise ValueError(f"{token!r} in the span of {label!r} is not a number of seconds")
    return value


def span_label_at(
    record: ClipRecord, t_s: float, label_map: Callable[[str], str] | None = None
) -> str | None:
    """The label at `t_s` seconds into a clip, or None where its spans leave a gap.

    A clip without spans has its own label throughout. Where spans overlap, the one that
    started last wins (at `Standing[3.6 to 6.9]; Falling[6.9 to 12]`, 6.9 s is falling),
    then the one that ends first (the more specific activity), then the first listed.
    """
    label = _covering_label(record, t_s)
    if label is None or label_map is None:
        return label
    return label_map(label)


def _covering_label(record: ClipRecord, t_s: float) -> str | None:
    if not record.spans:
        return record.label
    covering = [span for span in record.spans if span.covers(t_s)]
    if not covering:
        return None
    return max(covering, key=lambda span: (span.start_s, -span.end_s)).label
