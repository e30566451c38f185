"""Labelling: two real mp4 clips uploaded by a device; the most uncertain shows first, a
key press labels it (saved, by whom) and the next one is on screen at once."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from shared.synth import render_clip
from shared.video import write_video
from tests.kit.browser import Dashboard, expect, register_room, sign_in, snap, viewer_token
from tests.kit.factories import TestDevice, make_clip_meta
from tests.kit.outcomes import wait_for
from tests.kit.service import Server

SIZE, SECONDS, FPS = 32, 2.0, 8.0


def upload_clip(server: Server, device: TestDevice, path: Path, **meta: Any) -> str:
    clip_id = str(uuid.uuid4())
    body = make_clip_meta(
        device, clip_id=clip_id, width=SIZE, height=SIZE, fps=FPS, frames=int(SECONDS * FPS), **meta
    )
    with server.client(device.headers) as client:
        response = client.post(
            "/api/v1/clips",
            data={"meta": json.dumps(body)},
            files={"video": (path.name, path.read_bytes(), "video/mp4")},
        )
    assert response.status_code == 201, response.text
    return clip_id


def clip_of(label: str, seed: int, tmp_path: Path) -> Path:
    frames = render_clip(label, seed, size=SIZE, seconds=SECONDS, fps=FPS)
    return write_video(tmp_path / f"{label}-{seed}.mp4", frames, FPS)


def test_labelling_saves_the_label_and_shows_the_next_clip(
    page: Any, dashboard: Dashboard, tmp_path: Path
) -> None:
    server = dashboard.server
    device = register_room(server, "Corridor east")
    most_unsure = upload_clip(
        server,
        device,
        clip_of("falling", 1, tmp_path),
        predicted="sitting_down",
        probabilities={"sitting_down": 0.41, "falling": 0.39, "walking": 0.2},
        entropy=1.9,
        margin=0.02,
    )
    less_unsure = upload_clip(
        server,
        device,
        clip_of("walking", 2, tmp_path),
        predicted="walking",
        probabilities={"walking": 0.62, "standing_up": 0.28, "falling": 0.1},
        entropy=1.1,
        margin=0.34,
    )
    token, labeller = viewer_token(server, "Labeller Bo")
    sign_in(page, dashboard, token)
    page.get_by_role("link", name="Labelling").click()

    workspace = page.locator(".workspace")
    expect(workspace).to_have_attribute("data-clip-id", most_unsure)
    expect(page.locator(".queue-status")).to_have_text("2 clips to label, most uncertain first.")
    expect(page.locator(".probabilities li").first).to_contain_text("Sitting down")
    # Browsers cannot play the edge's mp4v: the clip plays from its frame sheet instead.
    player = page.locator(".player [data-player=frames]")
    expect(player).to_be_visible()
    expect(player).not_to_have_attribute("data-frame", "0", timeout=3000)  # it plays
    snap(page, "labelling")

    falling = page.locator(".label-button[data-label=falling]")
    key = falling.locator("kbd").inner_text()
    page.keyboard.press(key)
    expect(workspace).to_have_attribute("data-clip-id", less_unsure)
    expect(page.locator(".saved")).to_contain_text("Falling")
    with server.client(server.admin) as client:
        labelled = wait_for(
            lambda: (c := client.get(f"/api/v1/clips/{most_unsure}").json())["label"] and c,
            5,
            "the first clip's label",
        )
    assert (labelled["label"], labelled["labelled_by"]) == ("falling", labeller)

    page.locator(".label-button[data-label=walking]").click()
    expect(page.locator(".queue-status")).to_contain_text("No clips to label")
    page.reload()
    page.get_by_role("link", name="Labelling").click()
    expect(page.locator(".queue-status")).to_contain_text("No clips to label")
    with server.client(server.admin) as client:
        second = client.get(f"/api/v1/clips/{less_unsure}").json()
    assert (second["label"], second["labelled_by"]) == ("walking", labeller)
