"""The monitoring dashboard: `/` serves its page, `/dashboard/...` its scripts and styles.

Plain files, no build step (cloud/service/dashboard/). Every answer carries a strict
Content-Security-Policy: the page runs only its own scripts, so server text that slipped
into the DOM as markup could still not run (the page itself only ever sets textContent).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "dashboard"
ASSETS_PATH = "/dashboard"

# blob: for the clips and curve images the page fetches with its bearer token.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' blob: data:; media-src 'self' blob:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
def dashboard_page() -> FileResponse:
    """The dashboard's single page; revalidated on every load so an upgrade shows at once."""
    return FileResponse(
        DASHBOARD_DIR / "index.html",
        media_type="text/html",
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )


class DashboardFiles(StaticFiles):
    """The page's modules and styles, with the same security headers as the page."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update({**SECURITY_HEADERS, "Cache-Control": "no-cache"})
        return response


def mount_dashboard(app: FastAPI) -> None:
    app.include_router(router)
    app.mount(ASSETS_PATH, DashboardFiles(directory=DASHBOARD_DIR), name="dashboard")
