"""What the dashboard needs from the service: its page and files (with a strict CSP), and a
clip as a frame sheet that a browser can show (browsers do not decode mp4v)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from tests.kit.factories import (
    create_random_device,
    create_viewer,
    make_clip_meta,
    write_test_video,
)
from tests.kit.service import Server


def test_the_page_and_its_files_are_served_with_a_strict_policy(server: Server) -> None:
    with server.client() as client:
        page = client.get("/")
        script = client.get("/dashboard/app.js")
        styles = client.get("/dashboard/styles.css")
        outside = client.get("/dashboard/%2e%2e/api/routes/dashboard.py")
        schema = client.get("/api/v1/openapi.json").json()
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'src="dashboard/app.js"' in page.text
    for response in (page, script, styles):
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert styles.status_code == 200 and styles.headers["content-type"].startswith("text/css")
    assert outside.status_code == 404
    assert "/" not in schema["paths"]


def test_a_clip_is_served_as_a_frame_sheet(server: Server, tmp_path: Path) -> None:
    device = create_random_device(server)
    meta = make_clip_meta(device)
    video = write_test_video(tmp_path / "clip.mp4", frames=10, size=32).read_bytes()
    with server.client(device.headers) as client:
        uploaded = client.post(
            "/api/v1/clips",
            data={"meta": json.dumps(meta)},
            files={"video": ("clip.mp4", video, "video/mp4")},
        )
        as_device = client.get(f"/api/v1/clips/{meta['clip_id']}/frames.png")
    assert uploaded.status_code == 201, uploaded.text
    with server.client(create_viewer(server)) as client:
        sheet = client.get(f"/api/v1/clips/{meta['clip_id']}/frames.png")
        unknown = client.get("/api/v1/clips/00000000-0000-4000-8000-000000000000/frames.png")
    with server.client() as client:
        anonymous = client.get(f"/api/v1/clips/{meta['clip_id']}/frames.png")
    assert sheet.status_code == 200 and sheet.headers["content-type"] == "image/png"
    layout = {k: sheet.headers[f"x-vigil-{k}"] for k in ("frames", "columns", "fps")}
    assert layout == {"frames": "10", "columns": "4", "fps": "10.0"}
    assert (sheet.headers["x-vigil-frame-width"], sheet.headers["x-vigil-frame-height"]) == (
        "32",
        "32",
    )
    image = cv2.imdecode(np.frombuffer(sheet.content, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (3 * 32, 4 * 32, 3)  # 10 frames, 4 a row
    assert (as_device.status_code, anonymous.status_code, unknown.status_code) == (403, 401, 404)
