"""Clip uploads: checked by size and by decoding; listed for labelling; labelled."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from tests.kit.factories import (
    create_random_device,
    create_viewer,
    make_clip_meta,
    write_test_video,
)
from tests.kit.service import CLIP_LIMIT, Server


def upload(server: Server, device, meta: dict, video: bytes):
    with server.client(device.headers) as client:
        return client.post(
            "/api/v1/clips",
            data={"meta": json.dumps(meta)},
            files={"video": ("clip.mp4", video, "video/mp4")},
        )


def test_a_clip_is_stored_listed_streamed_and_labelled(server: Server, tmp_path: Path) -> None:
    device = create_random_device(server)
    video = write_test_video(tmp_path / "clip.mp4").read_bytes()
    sure = make_clip_meta(device, entropy=0.2, margin=0.8)
    unsure = make_clip_meta(device, entropy=1.9, margin=0.05)
    first = upload(server, device, sure, video)
    assert first.status_code == 201, first.text
    assert first.json()["sha256"] == hashlib.sha256(video).hexdigest()
    assert upload(server, device, sure, video).status_code == 200  # a re-send is no copy
    assert upload(server, device, unsure, video).status_code == 201
    viewer = create_viewer(server, name="labeller-bo")
    with server.client(viewer) as client:
        listed = client.get("/api/v1/clips", params={"device_id": device.id}).json()
        streamed = client.get(f"/api/v1/clips/{sure['clip_id']}/video")
        labelled = client.put(f"/api/v1/clips/{sure['clip_id']}/label", json={"label": "falling"})
        wrong = client.put(f"/api/v1/clips/{unsure['clip_id']}/label", json={"label": "dancing"})
        after = client.get("/api/v1/clips", params={"device_id": device.id}).json()
    assert [c["id"] for c in listed] == [unsure["clip_id"], sure["clip_id"]]  # most unsure 1st
    assert streamed.status_code == 200 and streamed.content == video
    assert labelled.status_code == 200, labelled.text
    body = labelled.json()
    assert (body["label"], body["labelled_by"]) == ("falling", "labeller-bo")
    assert body["labelled_at"] is not None
    assert wrong.status_code == 422
    assert [c["id"] for c in after] == [unsure["clip_id"], sure["clip_id"]]  # unlabelled first


def test_an_upload_over_the_limit_is_413(server: Server) -> None:
    device = create_random_device(server)
    too_big = os.urandom(CLIP_LIMIT + 1)
    assert upload(server, device, make_clip_meta(device), too_big).status_code == 413
    huge = os.urandom(CLIP_LIMIT + (2 << 20))  # refused by Content-Length, before parsing
    assert upload(server, device, make_clip_meta(device), huge).status_code == 413
    assert not list((server.settings.data_dir / "tmp").iterdir())


def test_an_upload_that_is_not_a_video_is_422(server: Server) -> None:
    device = create_random_device(server)
    response = upload(server, device, make_clip_meta(device), b"RIFF" + os.urandom(5000))
    assert response.status_code == 422
    assert "not a video" in response.json()["detail"][0]["msg"]
    bad_meta = upload(server, device, {"clip_id": "nope"}, b"x")
    assert bad_meta.status_code == 422
    with server.client(server.admin) as client:
        assert client.get("/api/v1/clips", params={"device_id": device.id}).json() == []
