"""The live stream (Server-Sent Events): events, alerts and device status as they happen."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from cloud.service.api.deps import ServicesDep, StreamViewer
from shared.messages import Id

router = APIRouter(tags=["live"])


@router.get("/stream", response_class=StreamingResponse)
def live_stream(
    services: ServicesDep, _: StreamViewer, site: Id | None = None
) -> StreamingResponse:
    """SSE: `event`, `alert` and `device` messages (of one `site`, or all).

    The token may come as `?token=`, since a browser's EventSource cannot set headers.
    """
    return StreamingResponse(
        services.hub.stream(site),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
