"""HTTP to the cloud (httpx): events and heartbeats as a fallback transport, clips always.

Every request carries the device token (`Authorization: Bearer`). Network errors, 5xx
and 429 are retried with exponential backoff; another 4xx is a refusal that retrying
cannot fix (`RejectedError`). 401/403 mean the cloud does not take this device's token:
`CredentialsRefused`, not retried; the client remembers it (`refused`) and the agent
stops with an error, its outbox kept for when the token is fixed.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from urllib.parse import urljoin

import httpx

from edge.config import HttpConfig
from edge.transport.base import (
    CredentialsRefused,
    Delivered,
    MessageHandler,
    RejectedError,
    TransportError,
)
from shared.messages import ModelAnnouncement
from shared.topics import TopicError, parse_device_topic

log = logging.getLogger(__name__)

API = "/api/v1"
_REFUSED = (401, 403)
_RETRYABLE_4XX = (408, 429)
# The most events `POST /api/v1/events` takes at once: cloud.service.schemas.MAX_BATCH
# (the edge cannot import the service; tests/edge/test_edge_http_batches.py holds them equal).
MAX_EVENTS_PER_POST = 1000


class CloudClient:
    def __init__(
        self,
        base_url: str,
        token: str | None,
        config: HttpConfig,
        stop_event: threading.Event | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.config = config
        self.stop_event = stop_event or threading.Event()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=config.timeout_s)
        self.refused: str | None = None  # why the cloud refused the token, once it has

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        """Send with retries; return a 2xx response or raise TransportError/RejectedError."""
        delay = self.config.backoff_s
        for attempt in range(self.config.retries + 1):
            try:
                response = self._http.request(method, url, **kwargs)  # type: ignore[arg-type]
            except httpx.HTTPError as exc:
                error: TransportError = TransportError(f"{method} {url}: {exc}")
            else:
                if response.is_success:
                    return response
                error = _status_error(method, url, response)
                if isinstance(error, CredentialsRefused):
                    self.refused = self.refused or str(error)
                    raise error
                if isinstance(error, RejectedError):
                    raise error
            if attempt < self.config.retries and not self.stop_event.wait(delay):
                delay *= 2
                continue
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

    def post_events(self, payloads: list[str]) -> None:
        """One request for up to MAX_EVENTS_PER_POST events (ActionEvent JSON each)."""
        if not 0 < len(payloads) <= MAX_EVENTS_PER_POST:
            raise ValueError(f"{len(payloads)} events: a post takes 1-{MAX_EVENTS_PER_POST}")
        body = '{"events": [' + ",".join(payloads) + "]}"
        self.request(
            "POST",
            f"{API}/events",
            content=body.encode(),
            headers={"Content-Type": "application/json"},
        )

    def post_heartbeat(self, device_id: str, payload: bytes) -> None:
        self.request(
            "POST",
            f"{API}/devices/{device_id}/heartbeat",
            content=payload,
            headers={"Content-Type": "application/json"},
        )

    def upload_clip(self, meta_json: str, video: Path) -> None:
        with video.open("rb") as fh:
            self.request(
                "POST",
                f"{API}/clips",
                data={"meta": meta_json},
                files={"video": (video.name, fh, "video/mp4")},
            )

    def fetch(self, url: str) -> bytes:
        """GET a URL (absolute, or relative to the cloud) with the device token."""
        return self.request("GET", urljoin(self.base_url + "/", url)).content

    def current_model(self, site: str) -> ModelAnnouncement:
        response = self.request("GET", f"{API}/models/current", params={"site": site})
        try:
            return ModelAnnouncement.model_validate_json(response.content)
        except ValueError as exc:
            raise RejectedError(f"cloud sent an invalid model announcement: {exc}") from exc


def _status_error(method: str, url: str, response: httpx.Response) -> TransportError:
    text = f"{method} {url}: HTTP {response.status_code} {response.text[:200]}"
    if response.status_code in _REFUSED:
        return CredentialsRefused(text)
    if 400 <= response.status_code < 500 and response.status_code not in _RETRYABLE_4XX:
        return RejectedError(text)
    return TransportError(text)


class HttpTransport:
    """The transport interface over the cloud's REST API (events and status topics)."""

    name = "http"

    def __init__(self, client: CloudClient, model_poll_s: float | None = None) -> None:
        self.client = client
        self.model_poll_s = model_poll_s
        self._stop = threading.Event()

    def connected(self) -> bool:
        return True

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> Delivered:
        try:
            parsed = parse_device_topic(topic)
        except TopicError as exc:
            raise TransportError(f"HTTP cannot publish to {topic}: {exc}") from exc
        if parsed.kind == "events":
            self.client.post_events([payload.decode()])
        elif parsed.kind == "status":
            self.client.post_heartbeat(parsed.device, payload)
        else:
            raise TransportError(f"HTTP has no endpoint for {parsed.kind} messages")
        return Delivered()

    def subscribe(self, topic: str, handler: MessageHandler) -> None:
        """Only the model topic: poll the current model every `model_poll_s` seconds."""
        site = _site_of_model_topic(topic)
        if self.model_poll_s is None:
            raise TransportError("HTTP model polling is off (no poll interval)")
        poller = threading.Thread(
            target=self._poll, args=(site, topic, handler), name="model-poll", daemon=True
        )
        poller.start()

    def _poll(self, site: str, topic: str, handler: MessageHandler) -> None:
        assert self.model_poll_s is not None
        while not self._stop.wait(self.model_poll_s):
            try:
                announcement = self.client.current_model(site)
                handler(topic, announcement.model_dump_json().encode())
            except Exception as exc:
                log.warning("model poll failed: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        self.client.close()


def _site_of_model_topic(topic: str) -> str:
    parts = topic.split("/")
    if len(parts) != 3 or parts[2] != "model":
        raise TransportError(f"HTTP can only follow the model topic, not {topic}")
    return parts[1]
