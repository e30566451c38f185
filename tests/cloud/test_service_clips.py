"""Clip uploads: checked by size and by decoding; listed for labelling; labelled."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.kit.factories import (
    create_random_device,
    create_viewer,
    make_clip_meta,
    make_fall_event,
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


def fall_clip(device, fell: datetime) -> dict:
    """The clip an agent uploads of a confirmed fall: from before it to after it."""
    return make_clip_meta(
        device, reason="alert", predicted="falling",
        started_at=(fell - timedelta(seconds=3)).isoformat(),
        ended_at=(fell + timedelta(seconds=3)).isoformat(),
        probabilities={"walking": 0.1, "falling": 0.6, "sitting_down": 0.3},
    )  # fmt: skip


def test_the_answer_to_what_happened_labels_the_falls_clip_whichever_comes_first(
    server: Server, tmp_path: Path
) -> None:
    device = create_random_device(server)
    video = write_test_video(tmp_path / "clip.mp4").read_bytes()
    bend = datetime.now(UTC) - timedelta(minutes=5)
    fall = datetime.now(UTC) - timedelta(minutes=1)
    with server.client(device.headers) as client:
        events = [
            make_fall_event(device, "update", "confirmed", t, 2, seq)
            for seq, t in ((1, bend), (2, fall))
        ]
        assert client.post("/api/v1/events", json={"events": events}).status_code == 200
    bend_clip, fall_clip_meta = fall_clip(device, bend), fall_clip(device, fall)
    assert upload(server, device, bend_clip, video).status_code == 201  # the clip first
    viewer = create_viewer(server, name="nurse-kim")
    with server.client(viewer) as client:
        alerts = client.get("/api/v1/alerts", params={"site": device.site}).json()
        by_start = {datetime.fromisoformat(a["started_at"]): a["id"] for a in alerts}
        not_a_fall = client.post(
            f"/api/v1/alerts/{by_start[bend]}/acknowledge", json={"outcome": "not_a_fall"}
        )
        real = client.post(
            f"/api/v1/alerts/{by_start[fall]}/acknowledge",
            json={"outcome": "real_fall", "note": "bruised hip"},
        )
        bad = client.post(f"/api/v1/alerts/{by_start[fall]}/acknowledge", json={"outcome": "x"})
        assert upload(server, device, fall_clip_meta, video).status_code == 201  # answer first
        clips = {
            c["id"]: c for c in client.get("/api/v1/clips", params={"device_id": device.id}).json()
        }
        falls = client.get("/api/v1/alerts", params={"state": "all", "outcome": "real_fall",
                                                     "site": device.site}).json()  # fmt: skip
    assert not_a_fall.status_code == 200 and not_a_fall.json()["outcome"] == "not_a_fall"
    assert real.status_code == 200 and real.json()["outcome"] == "real_fall"
    assert bad.status_code == 422
    # No `not_fall` in these labels: the clip's most likely label that is not a fall.
    assert clips[bend_clip["clip_id"]]["label"] == "sitting_down"
    assert clips[bend_clip["clip_id"]]["labelled_by"].startswith("nurse-kim (answer to alert")
    assert clips[fall_clip_meta["clip_id"]]["label"] == "falling"
    assert [a["id"] for a in falls] == [by_start[fall]]
