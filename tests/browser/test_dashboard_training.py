"""Models and training (admin): a retraining job started from the form on a tiny synthetic
set runs to done (the progress bar fills, the curves show) and its model is listed;
promotion and roll-back each ask for confirmation first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.messages import utc_now
from tests.kit.browser import Dashboard, expect, sign_in, snap

pytestmark = pytest.mark.slow

JOB_TIMEOUT_MS = 240_000  # as tests/cloud/test_service_training.py


def test_an_admin_trains_a_model_and_follows_it_to_done(
    page: Any, dashboard: Dashboard, tmp_path: Path
) -> None:
    server = dashboard.server
    sign_in(page, dashboard, server.settings.admin_secret)
    expect(page.locator("#role")).to_have_text("Admin")
    page.get_by_role("link", name="Models and training").click()
    expect(page.get_by_text("No model versions yet")).to_be_visible()

    # The tiny set of tests/cloud/test_service_training.py: 3 clips a class, 64 px, 1 epoch.
    form = page.locator("form.training-form")
    form.get_by_label("Clips per class").fill("3")
    form.get_by_label("Frame size (px)").fill("64")
    form.get_by_label("Seconds per clip").fill("2")
    form.get_by_label("Frames per second").fill("10")
    form.get_by_label("Epochs", exact=True).fill("1")
    form.get_by_text("More settings").click()
    form.get_by_label("Teacher frame size").fill("64")
    form.get_by_label("Promotion policy").select_option("if_better")
    form.get_by_label("Distil on the clips nobody has labelled yet").check()
    form.get_by_label("Student sees").select_option("motion")
    form.get_by_role("button", name="Start training").click()

    job = page.locator("article.job").first
    # No device has sent a clip here: the job says what was asked and trains without them.
    expect(job).to_contain_text("distilled on unlabelled clips")
    expect(job).to_contain_text("3D CNN teacher")
    expect(job).to_contain_text("student on the motion crop")
    expect(job).to_have_attribute("data-status", "running", timeout=30_000)
    bar = job.locator("progress")
    page.wait_for_function(
        "bar => bar.value > 0 && bar.value < bar.max", arg=bar.element_handle(), timeout=120_000
    )
    expect(job.locator(".progress-text")).to_contain_text("epochs done")
    snap(page, "training-running")
    expect(job).to_have_attribute("data-status", "succeeded", timeout=JOB_TIMEOUT_MS)
    assert bar.evaluate("bar => bar.max > 0 && bar.value === bar.max")
    expect(job.locator(".progress-text")).to_contain_text("Done")
    curves = job.locator(".curves img")
    expect(curves).to_be_visible()
    assert curves.evaluate("img => img.complete && img.naturalWidth > 0")
    version = job.locator(".job-result strong").inner_text()
    row = page.locator(f'table.models tr[data-version="{version}"]')
    expect(row).to_contain_text("Production")
    snap(page, "training-done")

    # A second version (the same file registered again), promoted and rolled back by hand.
    services = server.services
    with services.sessions.begin() as session:
        first = services.registry.get(session, version)
        copy = tmp_path / "again.onnx"
        copy.write_bytes(services.registry.artifact_path(first).read_bytes())
        second = services.registry.register(session, copy, None, {"macro_f1": 0.5}, utc_now())
        second_version = second.version
    page.reload()
    page.get_by_role("button", name=f"Promote {second_version}").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Promote {second_version}?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    page.get_by_role("button", name=f"Promote {second_version}").click()
    dialog.get_by_label("Reason (recorded)").fill("night shift trial")
    dialog.get_by_role("button", name="Promote").click()
    message = page.locator("#view-models .saved")
    expect(message).to_contain_text(f"{second_version} is now in production")
    expect(page.locator(f'tr[data-version="{second_version}"]')).to_contain_text("Production")
    snap(page, "models-promoted")

    page.get_by_role("button", name="Roll back…").click()
    page.get_by_role("dialog").get_by_role("button", name="Roll back").click()
    expect(message).to_contain_text(f"{version} is now in production")
    expect(row).to_contain_text("Production")
    with server.client(server.admin) as client:
        history = client.get("/api/v1/models/history").json()
    assert [h["reason"] for h in history[:2]] == [
        f"roll-back from {second_version}",
        "night shift trial",
    ]
