"""Rate limits: bad tokens per address, ingest requests per device; 429 with Retry-After,
and an edge device's HTTP client gets its events through all the same."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from cloud.service.ratelimit import Bucket, RateLimiter, refilled, wait_for_token
from edge.config import HttpConfig
from edge.transport.http import CloudClient
from tests.kit.factories import make_event
from tests.kit.security import Callers, Server, metric

SERVER_SETTINGS = {
    "sign_in_failure_burst": 3,
    "sign_in_failures_per_min": 60.0,  # one more guess a second once the burst is spent
    "ingest_request_burst": 4,
    "ingest_requests_per_s": 2.0,
}


def test_a_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    assert refilled(None, 10.0, rate_per_s=2.0, burst=5) == Bucket(5, 10.0)
    assert refilled(Bucket(0.0, 10.0), 11.0, rate_per_s=2.0, burst=5) == Bucket(2.0, 11.0)
    assert refilled(Bucket(4.5, 10.0), 20.0, rate_per_s=2.0, burst=5) == Bucket(5, 20.0)
    assert wait_for_token(Bucket(0.5, 0.0), rate_per_s=2.0) == 0.25
    assert wait_for_token(Bucket(1.0, 0.0), rate_per_s=2.0) == 0.0


def test_a_limiter_spends_per_key_and_says_how_long_to_wait() -> None:
    now = [100.0]
    limiter = RateLimiter(rate_per_s=1.0, burst=2, clock=lambda: now[0])
    assert [limiter.spend("a"), limiter.spend("a")] == [0.0, 0.0]
    assert limiter.spend("a") == pytest.approx(1.0)
    assert limiter.retry_after("a") == pytest.approx(1.0)
    assert limiter.spend("b") == 0.0  # another key has its own bucket
    now[0] += 1.0
    assert limiter.retry_after("a") == 0.0 and limiter.spend("a") == 0.0
    off = RateLimiter(rate_per_s=0.0, burst=1)
    assert not off.enabled and all(off.spend("a") == 0.0 for _ in range(100))


@pytest.mark.services
def test_ingest_past_its_rate_is_429_per_device_and_the_edge_client_retries(
    secure_server: Server, callers: Callers
) -> None:
    device = callers.device
    with secure_server.client(device.headers) as client:
        answers = [
            client.post("/api/v1/events", json={"events": [make_event(device, seq=n)]})
            for n in range(6)
        ]
    codes = [a.status_code for a in answers]
    assert codes[:4] == [200] * 4 and 429 in codes[4:], codes
    refused = next(a for a in answers if a.status_code == 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 2
    with secure_server.client(callers.other_device.headers) as client:  # its own bucket
        other = client.post("/api/v1/events", json={"events": [make_event(callers.other_device)]})
    assert other.status_code == 200
    assert metric(secure_server, "vigil_rate_limited_total", limit="ingest") >= 1

    # The edge's HTTP transport backs off on 429 and retries: every batch gets in.
    edge = CloudClient(secure_server.base_url, device.token, HttpConfig(retries=6, backoff_s=0.2))
    sent = [make_event(device, seq=100 + n) for n in range(8)]
    for event in sent:
        edge.post_events([json.dumps(event)])
    edge.close()
    with secure_server.client(callers.admin) as client:
        rows = client.get("/api/v1/events", params={"device_id": device.id, "limit": 100}).json()
    assert {e["event_id"] for e in sent} <= {r["event_id"] for r in rows}


@pytest.mark.services
def test_bad_tokens_from_one_address_are_limited_then_forgiven(
    secure_server: Server, callers: Callers
) -> None:
    with httpx.Client(base_url=secure_server.base_url, timeout=30) as client:
        for _ in range(5):  # no token at all is no guess: it spends nothing
            assert client.get("/api/v1/events").status_code == 401
        guesses = [
            client.get("/api/v1/events", headers={"Authorization": f"Bearer vgl_{uuid.uuid4()}"})
            for _ in range(4)
        ]
        assert [g.status_code for g in guesses] == [401, 401, 401, 429]
        assert guesses[-1].headers["Retry-After"] == "1"
        # Blocked means blocked: the right token from that address waits too.
        assert client.get("/api/v1/events", headers=callers.viewer).status_code == 429
        assert metric(secure_server, "vigil_rate_limited_total", limit="sign_in") >= 2
        time.sleep(1.1)
        assert client.get("/api/v1/events", headers=callers.viewer).status_code == 200
