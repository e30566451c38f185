"""The FastAPI application factory: `create_app(settings)`.

The lifespan builds the services (migrating the database first) and starts what this
process runs: by default the MQTT ingest, the training worker and the escalator too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloud.service.api.main import api_router
from cloud.service.api.routes import ops
from cloud.service.api.routes.dashboard import mount_dashboard
from cloud.service.ratelimit import RateLimiter
from cloud.service.redact import redact_access_log
from cloud.service.services import build_services
from cloud.service.settings import Settings

API_PREFIX = "/api/v1"
INGEST_PATHS = (f"{API_PREFIX}/events",)
MULTIPART_SLACK = 1 << 20  # the meta field and the multipart framing


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        title="Vigil",
        summary="Privacy-first fall and activity monitoring: ingest, alerts, clips, training.",
        version="1",
        lifespan=lifespan_for(settings),
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/docs",
    )
    app.state.sign_in_limiter = RateLimiter(
        settings.sign_in_failures_per_min / 60, settings.sign_in_failure_burst
    )
    app.state.ingest_limiter = RateLimiter(
        settings.ingest_requests_per_s, settings.ingest_request_burst
    )
    app.include_router(api_router, prefix=API_PREFIX)
    app.include_router(ops.router)
    mount_dashboard(app)
    app.add_exception_handler(RequestValidationError, count_refused_payloads)
    app.add_middleware(
        BodyLimit, path=f"{API_PREFIX}/clips", limit=settings.clip_max_bytes + MULTIPART_SLACK
    )
    return app


def lifespan_for(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Build the services (migrating first), start this process's parts, stop them after."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redact_access_log()  # here: uvicorn has configured its loggers by now
        services = await run_in_threadpool(build_services, settings)
        services.start(ingest=settings.run_ingest, worker=settings.run_worker, escalate=True)
        app.state.services = services
        try:
            yield
        finally:
            await run_in_threadpool(services.close)

    return lifespan


async def count_refused_payloads(request: Request, exc: Exception) -> Response:
    """Invalid ingest payloads count as rejects; the answer is FastAPI's usual 422."""
    assert isinstance(exc, RequestValidationError)
    path = request.url.path
    if path in INGEST_PATHS or path.endswith("/heartbeat"):
        request.app.state.services.metrics.rejects.inc(source="http", reason="invalid")
    return await request_validation_exception_handler(request, exc)


class BodyLimit:
    """Refuse a request body over `limit` bytes on `path` (413) before it is all read.

    Starlette spools a multipart upload to disk before the route runs; this stops an
    oversized one at its Content-Length, or as soon as a chunked body passes the limit:
    it answers 413 itself and tells the app the client has gone. (Raising from `receive`
    instead came out as FastAPI's 400 "error parsing the body", which catches it.)
    """

    def __init__(self, app: ASGIApp, path: str, limit: int) -> None:
        self.app, self.path, self.limit = app, path, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await too_large(self.limit)(scope, receive, send)
            return
        seen, cut_off, started = 0, False, False

        async def counting_receive() -> Message:
            nonlocal seen, cut_off
            if cut_off:
                return {"type": "http.disconnect"}
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                cut_off = True
                if not started:
                    await too_large(self.limit)(scope, receive, send)
                return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if not cut_off:  # after the 413 the app's own answer (to a "disconnect") is moot
                started = True
                await send(message)

        await self.app(scope, counting_receive, guarded_send)


def too_large(limit: int) -> JSONResponse:
    return JSONResponse({"detail": f"request body is over {limit} bytes"}, status_code=413)
