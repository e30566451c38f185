"""Token buckets: failed sign-ins per client address, ingest requests per device.

A bucket holds up to `burst` tokens and refills at `rate_per_s`; a request that finds less
than one token is answered 429 with `Retry-After` (RFC 9110 section 10.2.3). Failed
sign-ins *spend* tokens and every attempt from an address with an empty bucket is
refused, right token or not, so guessing costs time; devices spend one token per ingest
request, and their HTTP transport retries a 429 after a back-off, so nothing is lost.

The buckets live in the process: each API replica allows the rate on its own. That is
enough to stop a guessing or runaway client, which is what these limits are for.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_KEYS = 100_000  # buckets kept before the full ones (the same as absent) are dropped


@dataclass(frozen=True)
class Bucket:
    tokens: float
    at: float  # clock time of `tokens`


def refilled(bucket: Bucket | None, now: float, rate_per_s: float, burst: float) -> Bucket:
    """The bucket at `now`: a new one is full; tokens grow at `rate_per_s` up to `burst`."""
    if bucket is None:
        return Bucket(burst, now)
    return Bucket(min(burst, bucket.tokens + (now - bucket.at) * rate_per_s), now)


def wait_for_token(bucket: Bucket, rate_per_s: float) -> float:
    """Seconds until `bucket` holds one whole token (0 when it does now)."""
    return 0.0 if bucket.tokens >= 1.0 else (1.0 - bucket.tokens) / rate_per_s


class RateLimiter:
    """Buckets by key (an address, a device id); `rate_per_s` 0 turns the limit off."""

    def __init__(
        self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate_per_s, self.burst, self._clock = rate_per_s, float(burst), clock
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate_per_s > 0

    def retry_after(self, key: str) -> float:
        """Seconds before `key` may try again (0: now), without spending anything."""
        if not self.enabled:
            return 0.0
        with self._lock:
            bucket = refilled(self._buckets.get(key), self._clock(), self.rate_per_s, self.burst)
        return wait_for_token(bucket, self.rate_per_s)

    def spend(self, key: str) -> float:
        """Spend one token of `key`'s; 0 if there was one, else the seconds until there is."""
        if not self.enabled:
            return 0.0
        with self._lock:
            bucket = refilled(self._buckets.get(key), self._clock(), self.rate_per_s, self.burst)
            wait = wait_for_token(bucket, self.rate_per_s)
            self._buckets[key] = Bucket(bucket.tokens - 1.0, bucket.at) if wait == 0 else bucket
            if len(self._buckets) > MAX_KEYS:
                self._forget()
        return wait

    def _forget(self) -> None:
        """Drop full buckets (the same as none), then the oldest, to half of MAX_KEYS."""
        now = self._clock()
        for key, bucket in list(self._buckets.items()):
            if refilled(bucket, now, self.rate_per_s, self.burst).tokens >= self.burst:
                del self._buckets[key]
        oldest = sorted(self._buckets, key=lambda k: self._buckets[k].at)
        for key in oldest[: max(0, len(oldest) - MAX_KEYS // 2)]:
            del self._buckets[key]


def retry_after_header(seconds: float) -> dict[str, str]:
    """`Retry-After` in whole seconds, rounded up (at least 1)."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}
