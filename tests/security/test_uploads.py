"""Malformed clip uploads: refused with a 4xx, nothing kept, nothing written outside the
clip store, an oversized body stopped before it is read."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kit.factories import make_clip_meta, write_test_video
from tests.kit.security import CLIP_LIMIT, Callers, Server
from tests.kit.security import upload_clip as upload

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return write_test_video(tmp_path_factory.mktemp("video") / "clip.mp4").read_bytes()


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def watched(secure_server: Server) -> Iterator[Path]:
    """The data directory's parent: after the test, only clips may have appeared in it,
    and no partial upload may be left in the data directory's tmp/."""
    root = secure_server.settings.data_dir.parent
    before = files_under(root)
    yield root
    clips = secure_server.settings.data_dir / "clips"
    new = files_under(root) - before
    assert all(p.parent == clips and p.suffix == ".mp4" for p in new), sorted(new)
    assert not list((secure_server.settings.data_dir / "tmp").glob("*"))


def stored_clips(server: Server, callers: Callers) -> int:
    params = {"device_id": callers.device.id, "limit": 500}
    with server.client(callers.admin) as client:
        return len(client.get("/api/v1/clips", params=params).json())


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])
def test_a_truncated_video_is_refused(
    secure_server: Server, callers: Callers, video: bytes, watched: Path, keep: float
) -> None:
    before = stored_clips(secure_server, callers)
    response = upload(secure_server, callers, video[: int(len(video) * keep)])
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "video"]
    assert stored_clips(secure_server, callers) == before


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "video/mp4"),  # an image claiming to be a video
        (b"#!/bin/sh\nrm -rf /\n", "application/x-sh"),
        (b"", "video/mp4"),
    ],
    ids=["png-as-mp4", "script", "empty"],
)
def test_what_is_not_a_video_is_refused(
    secure_server: Server,
    callers: Callers,
    watched: Path,
    body: bytes,
    content_type: str,
) -> None:
    response = upload(secure_server, callers, body, content_type=content_type)
    assert response.status_code == 422, response.text


def test_a_body_that_is_not_multipart_is_refused(secure_server: Server, callers: Callers) -> None:
    meta = make_clip_meta(callers.device)
    with secure_server.client(callers.device.headers) as client:
        as_json = client.post("/api/v1/clips", json={"meta": meta})
        as_text = client.post(
            "/api/v1/clips", content=b"meta=x", headers={"Content-Type": "text/plain"}
        )
        bad_meta = client.post(
            "/api/v1/clips", data={"meta": "{not json"}, files={"video": ("c.mp4", b"x")}
        )
    assert [as_json.status_code, as_text.status_code, bad_meta.status_code] == [422] * 3


@pytest.mark.parametrize(
    "filename",
    [
        "../../../../tmp/vigil-escaped.mp4",
        "..\\..\\..\\escaped.mp4",
        "/etc/cron.d/escaped",
        "clips/../../escaped.mp4",
        "%2e%2e%2fescaped.mp4",
        "escaped\x00.mp4",
    ],
)
def test_the_file_name_never_chooses_where_the_clip_is_kept(
    secure_server: Server, callers: Callers, video: bytes, watched: Path, filename: str
) -> None:
    response = upload(secure_server, callers, video, filename=filename)
    assert response.status_code == 201, response.text
    clips = secure_server.settings.data_dir / "clips"
    stored = {p.name for p in clips.iterdir()}
    assert all(len(name) == len("0" * 32 + ".mp4") for name in stored), stored
    assert not Path("/tmp/vigil-escaped.mp4").exists()


def test_a_declared_oversize_body_is_refused_before_it_is_sent(
    secure_server: Server, callers: Callers, watched: Path
) -> None:
    """Only the headers go out: the 413 must come without the server waiting for 10 GB."""
    port = int(secure_server.base_url.rsplit(":", 1)[1])
    head = (
        "POST /api/v1/clips HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {callers.device.token}\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\n"
        "Content-Length: 10000000000\r\n\r\n"
    )
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head.encode())
        answer = conn.recv(4096).decode(errors="replace")
    assert answer.startswith("HTTP/1.1 413"), answer
    assert time.monotonic() - started < 5


def test_a_streamed_oversize_body_is_cut_off_at_the_limit(
    secure_server: Server, callers: Callers, watched: Path
) -> None:
    """No Content-Length (chunked): 413 once past the limit, not FastAPI's 400 for a body
    it could not parse, and no partial file kept (`watched`)."""
    boundary = "vigilboundary"
    meta = json.dumps(make_clip_meta(callers.device))

    def body() -> Iterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="meta"\r\n\r\n{meta}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="video"; filename="c.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        for _ in range(CLIP_LIMIT * 10 // 65536):  # 3 MB offered against a 300 kB limit
            yield b"\x00" * 65536

    headers = {
        **callers.device.headers,
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    with secure_server.client() as client:
        response = client.post("/api/v1/clips", content=body(), headers=headers)
    assert response.status_code == 413, response.text
    assert response.json() == {"detail": f"request body is over {CLIP_LIMIT + (1 << 20)} bytes"}
