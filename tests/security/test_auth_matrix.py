"""Who may call what, over every route the app has: no token 401, a role the route does
not take 403, a device on another device's path 403. A route missing from ACCESS fails
the completeness test, so a new route gets a policy before it ships."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from cloud.service.app import create_app
from cloud.service.settings import Settings
from tests.kit.security import Callers, Server

pytestmark = pytest.mark.services

ADMIN, VIEWER, DEVICE = "admin", "viewer", "device"
STAFF = frozenset({ADMIN, VIEWER})
ANYONE = frozenset({ADMIN, VIEWER, DEVICE})
PUBLIC = frozenset()  # no token needed
# Every bad token below spends the sign-in limit of 127.0.0.1: this server allows plenty.
SERVER_SETTINGS = {"sign_in_failure_burst": 10_000}

V1 = "/api/v1"
ACCESS: dict[tuple[str, str], frozenset[str]] = {
    ("POST", f"{V1}/devices"): frozenset({ADMIN}),
    ("GET", f"{V1}/devices"): STAFF,
    ("GET", f"{V1}/devices/{{device_id}}"): STAFF,
    ("POST", f"{V1}/devices/{{device_id}}/heartbeat"): frozenset({DEVICE}),
    ("GET", f"{V1}/devices/{{device_id}}/heartbeats"): STAFF,
    ("GET", f"{V1}/devices/{{device_id}}/commands"): STAFF,
    ("POST", f"{V1}/devices/{{device_id}}/commands"): frozenset({ADMIN}),
    ("POST", f"{V1}/events"): frozenset({DEVICE}),
    ("GET", f"{V1}/events"): STAFF,
    ("GET", f"{V1}/alerts"): STAFF,
    ("GET", f"{V1}/alerts/{{alert_id}}"): STAFF,
    ("POST", f"{V1}/alerts/{{alert_id}}/acknowledge"): STAFF,
    ("GET", f"{V1}/alerts/{{alert_id}}/escalations"): STAFF,
    ("POST", f"{V1}/clips"): frozenset({DEVICE}),
    ("GET", f"{V1}/clips"): STAFF,
    ("GET", f"{V1}/clips/{{clip_id}}"): STAFF,
    ("GET", f"{V1}/clips/{{clip_id}}/video"): STAFF,
    ("GET", f"{V1}/clips/{{clip_id}}/frames.png"): STAFF,
    ("PUT", f"{V1}/clips/{{clip_id}}/label"): STAFF,
    ("POST", f"{V1}/training-jobs"): frozenset({ADMIN}),
    ("GET", f"{V1}/training-jobs"): STAFF,
    ("GET", f"{V1}/training-jobs/{{job_id}}"): STAFF,
    ("GET", f"{V1}/training-jobs/{{job_id}}/logs"): STAFF,
    ("GET", f"{V1}/training-jobs/{{job_id}}/curves.png"): STAFF,
    ("POST", f"{V1}/training-jobs/{{job_id}}/cancel"): frozenset({ADMIN}),
    ("GET", f"{V1}/models"): STAFF,
    ("GET", f"{V1}/models/public-key"): PUBLIC,  # a public key, as its name says
    ("GET", f"{V1}/models/current"): ANYONE,
    ("GET", f"{V1}/models/history"): STAFF,
    ("POST", f"{V1}/models/rollback"): frozenset({ADMIN}),
    ("GET", f"{V1}/models/{{version}}"): STAFF,
    ("GET", f"{V1}/models/{{version}}/artifact"): ANYONE,
    ("POST", f"{V1}/models/{{version}}/promote"): frozenset({ADMIN}),
    ("POST", f"{V1}/tokens"): frozenset({ADMIN}),
    ("GET", f"{V1}/tokens"): frozenset({ADMIN}),
    ("DELETE", f"{V1}/tokens/{{token_id}}"): frozenset({ADMIN}),
    ("GET", f"{V1}/stream"): STAFF,
    ("GET", f"{V1}/dashboard/settings"): STAFF,
    ("GET", f"{V1}/sites/{{site}}/learning"): STAFF,
    ("POST", f"{V1}/sites/{{site}}/calibrate"): frozenset({ADMIN}),
    ("GET", f"{V1}/reports/rooms"): STAFF,
    ("GET", f"{V1}/reports/rooms.csv"): STAFF,
    # Operations: probes and Prometheus scrape without credentials (counts only, no ids).
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    # The dashboard's page and the API's docs hold no data; the data needs a token.
    ("GET", "/"): PUBLIC,
    ("GET", f"{V1}/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
}
MOUNTS = {"/dashboard"}  # static files of the page


def built_app():
    """The app as `vigil serve` builds it (its routes need no running services)."""
    return create_app(Settings(env="development", admin_token="x" * 32))


def app_routes() -> list[tuple[str, str]]:
    """(method, path) of every route the app serves (included routers walked), HEAD aside."""
    routes = []
    for route in iter_route_contexts(built_app().routes):
        if route.methods:
            routes += [(m, str(route.path)) for m in sorted(route.methods) if m != "HEAD"]
    return routes


ROUTES = app_routes()
PROTECTED = [r for r in ROUTES if ACCESS.get(r)]


def test_every_route_has_a_policy() -> None:
    assert sorted(set(ROUTES) - set(ACCESS)) == [], "new routes: add them to ACCESS"
    assert sorted(set(ACCESS) - set(ROUTES)) == [], "ACCESS names routes that are gone"
    routes = iter_route_contexts(built_app().routes)
    mounts = {r.path for r in routes if isinstance(r.original_route, Mount)}
    assert mounts == MOUNTS


def concrete(path: str, callers: Callers, device_id: str | None = None) -> str:
    """The path with its parameters filled in (ids of nothing, except the device's own)."""
    filled = path.format(
        device_id=device_id or callers.device.id,
        alert_id=2**31 - 2,
        clip_id=uuid.uuid4(),
        job_id=uuid.uuid4(),
        version="no-such-version",
        token_id=2**31 - 2,
        site=callers.device.site,
    )
    # /models/current names a site: the device's own, the one device the matrix calls as.
    return filled + (f"?site={callers.device.site}" if path.endswith("/models/current") else "")


def status_of(
    server: Server, method: str, path: str, headers: dict[str, str], body: object = None
) -> int:
    """The status only: the body is not read (the live stream never ends)."""
    body = body if body is not None else ({} if method in ("POST", "PUT") else None)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        with client.stream(method, path, json=body, headers=headers) as response:
            return response.status_code


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
def test_no_token_or_an_unknown_one_is_401(
    secure_server: Server, callers: Callers, method: str, path: str
) -> None:
    url = concrete(path, callers)
    assert status_of(secure_server, method, url, {}) == 401
    guessed = {"Authorization": f"Bearer vgl_{uuid.uuid4().hex}"}
    assert status_of(secure_server, method, url, guessed) == 401


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_each_role_gets_exactly_what_the_policy_grants(
    secure_server: Server, callers: Callers, method: str, path: str
) -> None:
    allowed = ACCESS[(method, path)] or ANYONE
    for role in (ADMIN, VIEWER, DEVICE):
        status = status_of(secure_server, method, concrete(path, callers), callers.headers(role))
        if role in allowed:
            assert status not in (401, 403), f"{role} refused ({status})"
        else:
            assert status == 403, f"{role} let in ({status})"


DEVICE_PATHS = [r for r in PROTECTED if DEVICE in ACCESS[r] and "{device_id}" in r[1]]


@pytest.mark.parametrize(("method", "path"), DEVICE_PATHS)
def test_a_device_cannot_use_another_devices_path(
    secure_server: Server, callers: Callers, method: str, path: str
) -> None:
    other = callers.other_device
    url = concrete(path, callers, device_id=other.id)
    # A valid body naming the other device, so that only the identity can refuse it.
    body = {"device_id": other.id, "site": other.site, "status": "online",
            "sent_at": "2026-01-01T00:00:00+00:00"}  # fmt: skip
    assert status_of(secure_server, method, url, callers.device.headers, body) in (403, 404)


def test_a_token_in_the_query_counts_only_for_the_live_stream(
    secure_server: Server, callers: Callers
) -> None:
    token = callers.viewer["Authorization"].removeprefix("Bearer ")
    with httpx.Client(base_url=secure_server.base_url, timeout=30) as client:
        assert client.get("/api/v1/events", params={"token": token}).status_code == 401
        assert client.get("/api/v1/alerts", params={"token": token}).status_code == 401
