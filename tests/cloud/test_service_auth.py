"""Who may do what: no token 401, another's identity 403, viewers do not write."""

from __future__ import annotations

from sqlalchemy import select

from cloud.service.auth import hash_token
from cloud.service.db.tables import ApiToken
from tests.kit.factories import (
    SseListener,
    create_random_device,
    create_viewer,
    make_clip_meta,
    make_event,
)
from tests.kit.service import Server


def test_no_token_or_an_unknown_one_is_401(server: Server) -> None:
    with server.client() as client:
        assert client.get("/api/v1/events").status_code == 401
        assert client.post("/api/v1/events", json={"events": []}).status_code == 401
        assert client.get("/api/v1/models/current", params={"site": "x"}).status_code == 401
        bogus = {"Authorization": "Bearer vgl_not-a-token"}
        response = client.get("/api/v1/alerts", headers=bogus)
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


def test_a_device_cannot_write_as_another(server: Server) -> None:
    mine, other = create_random_device(server), create_random_device(server)
    beat = {
        "device_id": other.id,
        "site": other.site,
        "status": "online",
        "sent_at": "2026-01-01T00:00:00+00:00",
    }
    files = {"video": ("c.mp4", b"x" * 10, "video/mp4")}
    with server.client(mine.headers) as client:
        events = client.post("/api/v1/events", json={"events": [make_event(other)]})
        heartbeat = client.post(f"/api/v1/devices/{other.id}/heartbeat", json=beat)
        clip = client.post(
            "/api/v1/clips", data={"meta": _json(make_clip_meta(other))}, files=files
        )
        other_site = client.get("/api/v1/models/current", params={"site": other.site})
    assert [events.status_code, heartbeat.status_code, clip.status_code] == [403, 403, 403]
    assert other_site.status_code == 403
    with server.client(server.admin) as client:
        assert client.get("/api/v1/events", params={"device_id": other.id}).json() == []


def test_viewers_read_but_do_not_write(server: Server) -> None:
    device = create_random_device(server)
    viewer = create_viewer(server)
    with server.client(viewer) as client:
        assert client.get("/api/v1/events").status_code == 200
        writes = [
            client.post("/api/v1/events", json={"events": [make_event(device)]}),
            client.post("/api/v1/devices", json={"device_id": "x1", "site": "s"}),
            client.post("/api/v1/training-jobs", json={"dataset": "synthetic"}),
            client.post("/api/v1/tokens", json={"name": "sneaky"}),
            client.post("/api/v1/models/rollback"),
        ]
    assert [w.status_code for w in writes] == [403] * len(writes)


def test_devices_read_only_models(server: Server) -> None:
    device = create_random_device(server)
    with server.client(device.headers) as client:
        assert client.get("/api/v1/events").status_code == 403
        assert client.get("/api/v1/clips").status_code == 403
        assert client.get("/api/v1/devices").status_code == 403
        assert client.get("/api/v1/models/current", params={"site": device.site}).status_code in (
            200,
            404,
        )
        assert client.get("/api/v1/models/public-key").status_code == 200


def test_stream_takes_a_viewer_token_from_the_query(server: Server) -> None:
    viewer = create_viewer(server)
    device = create_random_device(server)
    token = viewer["Authorization"].removeprefix("Bearer ")
    url = f"{server.base_url}/api/v1/stream"
    ok = SseListener(url, params={"token": token})
    assert ok.connected.wait(10) and ok.status_code == 200
    ok.close()
    as_device = SseListener(url, params={"token": device.token})
    anonymous = SseListener(url)
    assert as_device.connected.wait(10) and anonymous.connected.wait(10)
    assert (as_device.status_code, anonymous.status_code) == (403, 401)


def test_tokens_are_stored_hashed_and_can_be_revoked(server: Server) -> None:
    device = create_random_device(server)
    with server.client(server.admin) as client:
        created = client.post("/api/v1/tokens", json={"name": "night-shift"}).json()
    viewer = {"Authorization": f"Bearer {created['token']}"}
    with server.services.sessions() as session:
        hashes = set(session.scalars(select(ApiToken.token_hash)))
    assert hash_token(created["token"]) in hashes and hash_token(device.token) in hashes
    assert created["token"] not in hashes and device.token not in hashes
    with server.client(viewer) as client:
        assert client.get("/api/v1/events").status_code == 200
    with server.client(server.admin) as client:
        listed = {r["id"]: r for r in client.get("/api/v1/tokens").json()}
        assert "token" not in listed[created["id"]]
        assert client.delete(f"/api/v1/tokens/{created['id']}").status_code == 204
    with server.client(viewer) as client:
        assert client.get("/api/v1/events").status_code == 401


def _json(value: dict) -> str:
    import json

    return json.dumps(value)
