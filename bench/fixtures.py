"""What the benchmarks compute over their samples: percentiles.

The real services they run (a private Mosquitto, a throw-away PostgreSQL database) are
the tests' own rigs: `tests.kit.mosquitto`, `tests.kit.postgres`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def percentiles(values: Sequence[float], qs: Sequence[float] = (50, 95)) -> dict[str, float]:
    """{'p50': ..., 'p95': ...} of `values` (empty: {})."""
    if len(values) == 0:
        return {}
    points = np.percentile(np.asarray(values, dtype=np.float64), qs)
    return {f"p{q:g}": round(float(v), 3) for q, v in zip(qs, points, strict=True)}
