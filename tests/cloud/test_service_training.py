"""Training jobs end to end: a tiny synthetic run becomes a signed model version that
`if_better` promotes and announces (retained) to the site's devices.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from shared.messages import ModelAnnouncement, utc_now
from shared.topics import model_topic
from tests.kit.factories import (
    TestDevice,
    create_random_device,
    create_viewer,
    make_clip_meta,
    mqtt_client,
    subscribe,
)
from tests.kit.outcomes import wait_for
from tests.kit.service import Server

pytestmark = pytest.mark.slow

FILMED = ["walking", "falling", "lying_on_floor", "no_person"]
TINY = {
    "dataset": {
        "kind": "synthetic",
        "clips_per_class": 3,
        "size": 64,
        "seconds": 2,
        "fps": 10,
        "labels": FILMED,
    },
    "epochs": 1,
    "teacher_size": 64,
    "augment_draws": 3,
    "promotion": "if_better",
}
JOB_TIMEOUT_S = 240


def finished_job(server: Server, job_id: str) -> dict:
    with server.client(server.admin) as client:
        return wait_for(
            lambda: (
                (j := client.get(f"/api/v1/training-jobs/{job_id}").json())["status"]
                not in ("queued", "running")
                and j
            ),
            JOB_TIMEOUT_S,
            f"training job {job_id} to finish",
            interval=0.5,
        )


@pytest.fixture(scope="session")
def trained(server: Server) -> tuple[dict, TestDevice]:
    """One tiny training job (a device registered first, so its site is told), on
    PostgreSQL: on SQLite the same loop (job, registry, promotion, signed model fetched
    by a device) runs in `vigil demo` (tests/test_demo.py) and the dashboard's training
    test, and a third run here would cost CI about 30 s."""
    if server.backend != "postgresql":
        pytest.skip("on SQLite the training loop is the demo's and the browser test's")
    device = create_random_device(server)
    with server.client(server.admin) as client:
        created = client.post("/api/v1/training-jobs", json=TINY)
    assert created.status_code == 202, created.text
    return finished_job(server, created.json()["id"]), device


def test_a_training_job_is_registered_promoted_announced_and_signed(
    server: Server, mqtt_url: str, trained: tuple[dict, TestDevice]
) -> None:
    job, device = trained
    assert job["status"] == "succeeded", job["error"]
    assert job["progress"]["history"] and "val_macro_f1" in job["progress"]["history"][-1]
    assert job["promotion"]["promote"] and job["promotion"]["reason"] == "no production model yet"
    assert device.site in job["promotion"]["announced_sites"]
    watcher = mqtt_client(mqtt_url)  # subscribed after the fact: it gets the retained copy
    try:
        received = subscribe(watcher, model_topic(device.site, server.root))
        wait_for(lambda: received, 10, "the retained model announcement")
    finally:
        watcher.loop_stop()
    assert received[0].retain
    announcement = ModelAnnouncement.model_validate_json(received[0].payload)
    assert announcement.version == job["model_version"] and announcement.site == device.site
    with server.client(device.headers) as client:
        current = client.get("/api/v1/models/current", params={"site": device.site})
        artifact = client.get(announcement.url.removeprefix(server.base_url))
        public_pem = client.get("/api/v1/models/public-key").text
    assert ModelAnnouncement.model_validate(current.json()).version == announcement.version
    assert artifact.status_code == 200 and len(artifact.content) == announcement.size_bytes
    assert hashlib.sha256(artifact.content).hexdigest() == announcement.sha256
    key = load_pem_public_key(public_pem.encode())
    key.verify(base64.b64decode(announcement.signature), artifact.content)  # raises if bad
    with server.client(server.admin) as client:
        logs = client.get(f"/api/v1/training-jobs/{job['id']}/logs").text
        model = client.get(f"/api/v1/models/{announcement.version}").json()
    assert '"epoch": 1' in logs
    assert model["status"] == "production" and model["metrics"]["exported"] in (
        "student_kd",
        "student_scratch",
    )


def test_the_job_films_the_actions_asked_for_with_the_augmentation_draws_asked_for(
    server: Server, trained: tuple[dict, TestDevice]
) -> None:
    from cloud.training.export import read_metadata

    job, _ = trained
    run = server.settings.data_dir / "jobs" / job["id"] / "run"
    assert json.loads((run / "run.json").read_text())["identity"]["params"]["augment_draws"] == 3
    with server.services.sessions.begin() as session:
        model = server.services.registry.get(session, job["model_version"])
        artifact = server.services.registry.artifact_path(model)
    assert read_metadata(artifact).labels == FILMED


def test_a_finished_job_serves_its_training_curves(
    server: Server, trained: tuple[dict, TestDevice]
) -> None:
    job, _ = trained
    nobody = "00000000-0000-4000-8000-000000000000"
    with server.client(create_viewer(server)) as client:
        curves = client.get(f"/api/v1/training-jobs/{job['id']}/curves.png")
        unknown = client.get(f"/api/v1/training-jobs/{nobody}/curves.png")
    assert curves.status_code == 200 and curves.headers["content-type"] == "image/png"
    assert curves.content.startswith(b"\x89PNG")
    assert unknown.status_code == 404


def test_promotion_by_hand_and_roll_back_announce_the_version(
    server: Server, mqtt_url: str, trained: tuple[dict, TestDevice], tmp_path: Path
) -> None:
    job, device = trained
    services = server.services
    with services.sessions.begin() as session:  # a second version: the same file, re-registered
        first = services.registry.get(session, job["model_version"])
        copy = tmp_path / "again.onnx"
        copy.write_bytes(services.registry.artifact_path(first).read_bytes())
        second = services.registry.register(session, copy, None, {"macro_f1": 0.0}, utc_now())
    with server.client(server.admin) as client:
        promoted = client.post(f"/api/v1/models/{second.version}/promote", json={"reason": "t"})
        assert promoted.status_code == 200, promoted.text
        assert device.site in promoted.json()["announced_sites"]
        assert retained_version(mqtt_url, server, device.site) == second.version
        rolled = client.post("/api/v1/models/rollback")
        assert rolled.status_code == 200, rolled.text
        history = client.get("/api/v1/models/history").json()
        models = {m["version"]: m["status"] for m in client.get("/api/v1/models").json()}
    assert rolled.json()["model"]["version"] == job["model_version"]
    assert retained_version(mqtt_url, server, device.site) == job["model_version"]
    assert history[0]["reason"] == f"roll-back from {second.version}"
    assert (models[job["model_version"]], models[second.version]) == ("production", "retired")


def retained_version(mqtt_url: str, server: Server, site: str) -> str:
    watcher = mqtt_client(mqtt_url)
    try:
        received = subscribe(watcher, model_topic(site, server.root))
        wait_for(lambda: received, 10, "the retained announcement")
    finally:
        watcher.loop_stop()
    return ModelAnnouncement.model_validate_json(received[-1].payload).version


def test_a_failed_job_records_its_error_and_leaves_the_registry(
    server: Server, datasets_root
) -> None:
    empty = datasets_root / "empty-dataset"
    empty.mkdir(exist_ok=True)
    with server.client(server.admin) as client:
        before = client.get("/api/v1/models").json()
        outside = client.post(
            "/api/v1/training-jobs", json={**TINY, "dataset": {"kind": "folder", "path": "/etc"}}
        )
        created = client.post(
            "/api/v1/training-jobs",
            json={**TINY, "dataset": {"kind": "folder", "path": "empty-dataset"}},
        )
    assert outside.status_code == 422
    assert created.status_code == 202, created.text
    job = finished_job(server, created.json()["id"])
    with server.client(server.admin) as client:
        after = client.get("/api/v1/models").json()
    assert job["status"] == "failed" and "no video clips found" in job["error"]
    assert after == before and job["model_version"] is None
    with server.client(server.admin) as client:
        assert client.get(f"/api/v1/training-jobs/{job['id']}/curves.png").status_code == 404


def upload_clips(server: Server, device: TestDevice, folder: Path) -> list[str]:
    """Upload every video of a synthetic folder as an unsure clip; their ids."""
    ids = []
    with server.client(device.headers) as client:
        for video in sorted(folder.rglob("*.mp4")):
            meta = make_clip_meta(device, width=64, height=64, fps=10.0, frames=20)
            response = client.post(
                "/api/v1/clips",
                data={"meta": json.dumps(meta)},
                files={"video": ("clip.mp4", video.read_bytes(), "video/mp4")},
            )
            assert response.status_code == 201, response.text
            ids.append(meta["clip_id"])
    return ids


def test_labelled_clips_join_the_data_and_unlabelled_ones_feed_distillation(
    server: Server, tmp_path: Path
) -> None:
    from shared.synth import write_synth_dataset

    if server.backend != "postgresql":  # the clip queries are plain ORM; one job keeps CI short
        pytest.skip("the clips-in-a-job run is PostgreSQL's (production's) only")
    write_synth_dataset(tmp_path / "site", clips_per_class=2, seed=7, size=64, seconds=2,
                        fps=10, labels=["walking", "falling"])  # fmt: skip
    device = create_random_device(server)
    clip_ids = upload_clips(server, device, tmp_path / "site")
    labelled, unlabelled = clip_ids[:2], clip_ids[2:]  # the falls, then the walks
    with server.client(create_viewer(server)) as client:
        for clip_id in labelled:
            answer = client.put(f"/api/v1/clips/{clip_id}/label", json={"label": "falling"})
            assert answer.status_code == 200, answer.text
    body = {**TINY, "include_labelled_clips": True, "unlabeled_clips": True, "promotion": "never"}
    with server.client(server.admin) as client:
        created = client.post("/api/v1/training-jobs", json=body)
    assert created.status_code == 202, created.text
    job = finished_job(server, created.json()["id"])

    assert job["status"] == "succeeded", job["error"]
    job_dir = server.settings.data_dir / "jobs" / job["id"]
    with (job_dir / "dataset" / "manifest.csv").open() as handle:
        rows = {Path(r["path"]).stem: r for r in csv.DictReader(handle)}
    for clip_id in labelled:  # the labelled clips are training data, marked as clips
        assert (rows[clip_id]["label"], rows[clip_id]["origin"]) == ("falling", "clip")
    assert not set(unlabelled) & set(rows)
    given = {p.stem for p in (job_dir / "unlabeled").iterdir()}
    assert set(unlabelled) <= given and not set(labelled) & given
    report = json.loads((job_dir / "run" / "report.json").read_text())
    assert report["windows"]["unlabelled"] >= len(unlabelled)
    assert report["student_kd_unlabeled"]["accuracy_clip"] is not None
    assert job["model_version"] is not None and not job["promotion"]["promote"]


def test_a_queued_job_can_be_cancelled(server: Server) -> None:
    with server.client(server.admin) as client:
        created = client.post("/api/v1/training-jobs", json={**TINY, "epochs": 200}).json()
        cancel = client.post(f"/api/v1/training-jobs/{created['id']}/cancel")
        assert cancel.status_code == 200, cancel.text
        job = finished_job(server, created["id"])
        again = client.post(f"/api/v1/training-jobs/{created['id']}/cancel")
    assert job["status"] == "cancelled" and again.status_code == 409


def test_invalid_job_parameters_are_422(server: Server) -> None:
    bad = [
        {**TINY, "epochs": 0},
        {**TINY, "lam": 1.5},
        {**TINY, "promotion": "sometimes"},
        {**TINY, "test_where": "no equals sign"},
        {**TINY, "surprise": True},
        {**TINY, "augment_draws": 0},
        {**TINY, "patience": 0},
        {**TINY, "hop_s": 0},
        {**TINY, "time_jitter_s": -0.1},
        {**TINY, "teacher": "vit"},
        {**TINY, "unlabeled_clips": "sometimes"},
        {**TINY, "student_crop": "zoom"},
        {**TINY, "dataset": {**TINY["dataset"], "labels": ["walking", "moonwalking"]}},
        {**TINY, "dataset": {**TINY["dataset"], "labels": ["walking", "walking"]}},
        {**TINY, "dataset": {**TINY["dataset"], "labels": ["falling"]}},
    ]
    with server.client(server.admin) as client:
        codes = [client.post("/api/v1/training-jobs", json=body).status_code for body in bad]
    assert codes == [422] * len(bad)
    assert json.dumps(TINY)  # the happy shape is exercised above
