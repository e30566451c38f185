"""How a rig ends a test: a bounded wait that fails it, a skip for what is missing.

`VIGIL_REQUIRE_SERVICES=1` (set by `.ci/run`) turns a missing PostgreSQL, Mosquitto, tool
or browser into a failure instead of a skip; `VIGIL_REQUIRE_DATA=1` (or `CI=true`) does
the same for the real clips in `../shared/data`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import NoReturn, TypeVar

import pytest

from shared.loopback import wait_until

T = TypeVar("T")


def _flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")


def require_services() -> bool:
    return _flag("VIGIL_REQUIRE_SERVICES")


def require_data() -> bool:
    return _flag("VIGIL_REQUIRE_DATA") or _flag("CI")


def missing(reason: str, required: bool | None = None) -> NoReturn:
    """Skip with a clear message, or fail where it must be there (default: the services')."""
    if require_services() if required is None else required:
        pytest.fail(f"{reason} (required here: tests must not skip it)")
    pytest.skip(reason)


def wait_for(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll `condition` until it returns something truthy (returned) or fail after `timeout`."""
    try:
        return wait_until(condition, timeout, what, interval)
    except TimeoutError as exc:
        pytest.fail(str(exc))
