"""The harness for the cloud tests: a server handle, a webhook, a database per backend."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import uvicorn
from sqlalchemy.engine import make_url

from cloud.service.app import create_app
from cloud.service.services import Services
from cloud.service.settings import Settings
from tests.kit.outcomes import wait_for
from tests.kit.postgres import postgres_database

CLIP_LIMIT = 300_000


@dataclass
class Webhook:
    """A local HTTP endpoint: answers 500 to the first POST per alert, then 200."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    failed_once: set[tuple[str, int]] = field(default_factory=set)


def start_webhook() -> tuple[Webhook, ThreadingHTTPServer]:
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            # Alert ids restart at 1 in each backend's database: the device tells them apart.
            alert_id = (body["alert"]["device_id"], body["alert"]["id"])
            first = alert_id not in hook.failed_once
            hook.failed_once.add(alert_id)
            if not first:
                hook.received.append(body)
            self.send_response(500 if first else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return hook, server


@dataclass
class Server:
    base_url: str
    settings: Settings
    services: Services
    admin: dict[str, str]

    def client(self, headers: dict[str, str] | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers=headers or {}, timeout=30)

    @property
    def root(self) -> str:
        return self.settings.mqtt_topic_root

    @property
    def backend(self) -> str:
        return make_url(self.settings.sqlalchemy_url).get_backend_name()


class ServerThread:
    """`vigil serve` in-process: uvicorn in a thread, with what the settings start.

    Stopped and started again on the same port and database, it is a server restart.
    """

    def __init__(self, settings: Settings, port: int) -> None:
        self.settings, self.port = settings, port
        self._uvicorn: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Server:
        app = create_app(self.settings)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", timeout_graceful_shutdown=1
        )
        self._uvicorn = uv = uvicorn.Server(config)
        self._thread = threading.Thread(target=uv.run, name="uvicorn", daemon=True)
        self._thread.start()
        wait_for(lambda: uv.started, 60, "uvicorn to start")
        services: Services = app.state.services
        if services.mqtt_ingest is not None:
            assert services.mqtt_ingest.wait_subscribed(10), "the ingest never subscribed"
        admin = {"Authorization": f"Bearer {self.settings.admin_secret}"}
        return Server(f"http://127.0.0.1:{self.port}", self.settings, services, admin)

    def stop(self) -> None:
        assert self._uvicorn is not None and self._thread is not None, "never started"
        self._uvicorn.should_exit = True
        self._thread.join(timeout=60)


def database_for(backend: str, tmp_dir: Any, postgres_url: Callable[[], str]) -> Iterator[str]:
    """A fresh, empty database of `backend` for the test session (dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_dir}/vigil.db"
        return
    with postgres_database(postgres_url()) as db_url:
        yield db_url
