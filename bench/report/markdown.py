"""How docs/BENCHMARKS.md writes what it reads: numbers, tables, and its templates filled."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

TEMPLATES = Path(__file__).resolve().parent / "templates"


def num(value: Any, digits: int = 1) -> str:
    """A number for a table: thousands separated, `digits` decimals; '-' for none."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1000:
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], align: str = "") -> str:
    """A Markdown table; `align` holds one of 'l'/'r' per column (default: l, then r)."""
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---" if a == "l" else "---:" for a in align]
    lines = [header, rule, *[[str(c) for c in row] for row in rows]]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def counted(n: int, noun: str) -> str:
    """'1 thread', '2 threads'."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def yes_no(met: bool | None) -> str:
    return "-" if met is None else ("yes" if met else "no")


def mean_std(stat: dict[str, Any], digits: int = 3) -> str:
    """A {mean, std} of a kd summary as 'mean ± std' (the std only where there is one)."""
    if stat.get("mean") is None:
        return "-"
    text = f"{stat['mean']:.{digits}f}"
    return text + (f" ± {stat['std']:.{digits}f}" if stat.get("std") else "")


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text())


def fill(name: str, /, **values: object) -> str:
    """bench/report/templates/`name` with its placeholders filled: each given, none left over.

    A placeholder left empty on a line of its own leaves no blank paragraph behind, so a
    template can hold a part that only some results have.
    """
    template = _template(name)
    wanted, given = set(template.get_identifiers()), set(values)
    if wanted != given:
        raise KeyError(
            f"{name}: missing {sorted(wanted - given)}, unknown {sorted(given - wanted)}"
        )
    return re.sub(r"\n{3,}", "\n\n", template.substitute(values)).strip("\n")
