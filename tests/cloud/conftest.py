"""The cloud service under test: a real uvicorn on a free port, real PostgreSQL or SQLite
(every fixture here runs once per backend), real Mosquitto.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cloud.service.settings import Settings
from shared.loopback import free_port
from shared.topics import model_topic
from tests.kit.factories import mqtt_client
from tests.kit.service import CLIP_LIMIT, Server, ServerThread, Webhook, database_for, start_webhook

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def webhook() -> Iterator[Webhook]:
    hook, http_server = start_webhook()
    yield hook
    http_server.shutdown()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh, empty database of each backend (the service migrates it itself)."""
    yield from database_for(
        request.param,
        tmp_path_factory.mktemp("sqlite"),
        lambda: request.getfixturevalue("postgres_url"),
    )


@pytest.fixture(scope="session")
def topic_root() -> str:
    return f"vigil-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def server(
    database_url: str,
    mqtt_url: str,
    topic_root: str,
    webhook: Webhook,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    """`vigil serve` in-process: uvicorn in a thread, ingest, worker and escalator running."""
    port = free_port()
    settings = Settings(
        env="production",
        admin_token=secrets.token_urlsafe(32),
        database_url=database_url,
        mqtt_url=mqtt_url,
        mqtt_topic_root=topic_root,
        data_dir=tmp_path_factory.mktemp("data"),
        public_base_url=f"http://127.0.0.1:{port}",
        dataset_roots=[tmp_path_factory.mktemp("datasets")],
        clip_max_bytes=CLIP_LIMIT,
        worker_poll_s=0.2,
        alert_escalate_after_s=1.0,
        alert_check_s=0.2,
        alert_webhook_url=webhook.url,
        alert_webhook_backoff_s=0.05,
        device_offline_after_s=86_400,  # tests' devices go quiet between tests
    )
    running = ServerThread(settings, port)
    yield running.start()
    sites = sorted({d["site"] for d in client_get(settings, port, "/api/v1/devices")})
    running.stop()
    clear_retained(mqtt_url, [model_topic(site, topic_root) for site in sites])


def client_get(settings: Settings, port: int, path: str) -> list[dict]:
    headers = {"Authorization": f"Bearer {settings.admin_secret}"}
    return httpx.get(f"http://127.0.0.1:{port}{path}", headers=headers, timeout=30).json()


def clear_retained(mqtt_url: str, topics: list[str]) -> None:
    """Leave no retained announcements behind in the shared broker (it persists them)."""
    client = mqtt_client(mqtt_url)
    try:
        for topic in topics:
            client.publish(topic, b"", qos=1, retain=True).wait_for_publish(10)
    finally:
        client.loop_stop()
        client.disconnect()


@pytest.fixture(scope="session")
def datasets_root(server: Server) -> Path:
    return server.settings.dataset_roots[0]
