"""Signing in: a bad or a device token is refused with a clear message; a viewer's works,
stays signed in on reload (sessionStorage) and sees no admin view; a revoked one is let go."""

from __future__ import annotations

from typing import Any

from tests.kit.browser import Dashboard, expect, register_room, sign_in, snap, viewer_token


def try_token(page: Any, token: str) -> None:
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def test_a_bad_token_is_refused_and_a_viewer_signs_in(page: Any, dashboard: Dashboard) -> None:
    server = dashboard.server
    device = register_room(server, "Garden room")
    page.goto(dashboard.url)
    try_token(page, "vgl_not-a-token-anybody-was-given")
    expect(page.locator("#signin-error")).to_contain_text("not recognised")
    expect(page.locator("#shell")).to_be_hidden()
    snap(page, "signin-refused")
    try_token(page, device.token)
    expect(page.locator("#signin-error")).to_contain_text("device's token")
    assert page.evaluate("sessionStorage.length") == 0

    token, _ = viewer_token(server)
    sign_in(page, dashboard, token)
    expect(page.locator("#role")).to_have_text("Viewer")
    expect(page.get_by_role("link", name="Models and training")).to_have_count(0)
    page.reload()
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    expect(page.locator(".tile", has_text="Garden room")).to_be_visible()
    page.goto(dashboard.url + "#/models")  # typed by hand: still not for viewers
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Access token")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def test_a_revoked_token_is_signed_out(page: Any, dashboard: Dashboard) -> None:
    server = dashboard.server
    token, name = viewer_token(server)
    sign_in(page, dashboard, token)
    with server.client(server.admin) as client:
        row = next(t for t in client.get("/api/v1/tokens").json() if t["name"] == name)
        assert client.delete(f"/api/v1/tokens/{row['id']}").status_code == 204
    # The live stream may notice the revocation first and sign out before the reload:
    # the reason is kept, so the page says it either way.
    page.reload()
    expect(page.locator("#signin-error")).to_contain_text("no longer accepted")
    expect(page.locator("#shell")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('vigil.session')") is None  # token gone


def test_server_text_is_shown_as_text(page: Any, dashboard: Dashboard) -> None:
    server = dashboard.server
    register_room(server, '<img src=x onerror="window.pwned=1">Room <b>7</b>')
    token, _ = viewer_token(server)
    sign_in(page, dashboard, token)
    tile = page.locator(".tile", has_text="Room <b>7</b>")
    expect(tile).to_be_visible()
    assert tile.locator("b, img").count() == 0
    assert page.evaluate("window.pwned") is None
    response = page.request.get(dashboard.url)
    assert "script-src 'self'" in response.headers["content-security-policy"]
