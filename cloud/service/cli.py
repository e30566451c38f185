"""Service subcommands: `vigil serve`, `vigil worker`, `vigil ingest`, `vigil devices ...`.

Only argparse at import time (see shared/cli.py): FastAPI, SQLAlchemy and paho load
inside the handlers, so an edge-only install still lists these commands.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

from shared.cli import require_extra

if TYPE_CHECKING:  # FastAPI, SQLAlchemy and httpx load inside the handlers
    import httpx

    from cloud.service.schemas import DeviceRegistered
    from cloud.service.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser("serve", help="run the cloud service (API, ingest, worker)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-ingest", action="store_true", help="run `vigil ingest` elsewhere")
    serve.add_argument("--no-worker", action="store_true", help="run `vigil worker` elsewhere")
    serve.set_defaults(handler=run_serve)
    worker = subparsers.add_parser("worker", help="run the training worker (and escalations)")
    add_metrics_port(worker)
    worker.set_defaults(handler=run_worker)
    ingest = subparsers.add_parser("ingest", help="run the MQTT ingest alone")
    ingest.add_argument("--share-group", help="MQTT shared-subscription group (load sharing)")
    add_metrics_port(ingest)
    ingest.set_defaults(handler=run_ingest)
    register_devices(subparsers)


def register_devices(subparsers: argparse._SubParsersAction) -> None:
    devices = subparsers.add_parser("devices", help="register and list devices")
    sub = devices.add_subparsers(dest="devices_command", required=True, metavar="WHAT")
    add = sub.add_parser("add", help="register a device; prints its token and Mosquitto lines")
    add.add_argument("site", help="site id, e.g. rosehill")
    add.add_argument("device", help="device id, e.g. rosehill-room12")
    add.add_argument("--name", default="", help="a human name for the device")
    add.add_argument("--json", action="store_true", help="print JSON instead of text")
    add.set_defaults(handler=run_devices_add)
    ls = sub.add_parser("list", help="list devices and their status")
    ls.set_defaults(handler=run_devices_list)
    for command in (add, ls):
        command.add_argument(
            "--cloud",
            help=f"the running service (default VIGIL_CLOUD_URL, else {DEFAULT_CLOUD_URL}); "
            "with VIGIL_ADMIN_TOKEN, its admin token",
        )


def add_metrics_port(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metrics-port", type=int, help="serve /metrics on this port")


def load_settings(**overrides: object) -> Settings:
    require_extra("service", "fastapi")
    from cloud.service.settings import Settings

    settings = Settings()
    return settings.model_copy(update=overrides) if overrides else settings


def run_serve(args: argparse.Namespace) -> int:
    settings = load_settings()
    import uvicorn

    from cloud.service.app import create_app

    overrides = {
        "run_ingest": settings.run_ingest and not args.no_ingest,
        "run_worker": settings.run_worker and not args.no_worker,
    }
    settings = settings.model_copy(update=overrides)
    if settings.run_worker:
        require_training("or run `vigil serve --no-worker` and the worker where it is installed")
    if settings.admin_token_generated:
        print(f"development admin token: {settings.admin_secret}", file=sys.stderr, flush=True)
    # Open SSE streams never end by themselves: give them a few seconds, then close them.
    uvicorn.run(create_app(settings), host=args.host, port=args.port, timeout_graceful_shutdown=5)
    return 0


def require_training(hint: str = "") -> None:
    """The worker runs every job as `python -m cloud.training.job`: torch must be there."""
    require_extra("train", "torch", hint)


def run_worker(args: argparse.Namespace) -> int:
    require_training()
    return run_part(load_settings(), args.metrics_port, ingest=False, worker=True)


def run_ingest(args: argparse.Namespace) -> int:
    settings = load_settings()
    if settings.mqtt_url is None:
        raise ValueError("VIGIL_MQTT_URL is not set: there is no broker to ingest from")
    if args.share_group:
        settings = settings.model_copy(update={"mqtt_share_group": args.share_group})
    return run_part(settings, args.metrics_port, ingest=True, worker=False)


def run_part(settings: Settings, metrics_port: int | None, ingest: bool, worker: bool) -> int:
    """Run the ingest or the worker in this process until SIGTERM or Ctrl-C."""
    from cloud.service.metrics_server import serve_metrics
    from cloud.service.services import build_services

    services = build_services(settings, serves_api=False)
    if services.engine.dialect.name != "postgresql":
        logging.getLogger(__name__).warning(
            "on SQLite the API's live stream does not see what this process stores; "
            "use PostgreSQL (DATABASE_URL) to run ingest and worker apart from the API"
        )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    services.start(ingest=ingest, worker=worker, escalate=worker)
    server = serve_metrics(services.metrics, metrics_port) if metrics_port else None
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.shutdown()
        services.close()
    return 0


DEFAULT_CLOUD_URL = "http://127.0.0.1:8000"  # `vigil serve`'s own default address


def service_client(args: argparse.Namespace) -> httpx.Client:
    """A client of the running service, as its admin: `--cloud` (or VIGIL_CLOUD_URL) and
    VIGIL_ADMIN_TOKEN. Registering through the API, not the database, means the token
    printed is one the service knows, signed by the key it uses."""
    import httpx

    url = (args.cloud or os.environ.get("VIGIL_CLOUD_URL") or DEFAULT_CLOUD_URL).rstrip("/")
    token = os.environ.get("VIGIL_ADMIN_TOKEN")
    if not token:
        raise ValueError(
            f"VIGIL_ADMIN_TOKEN is not set: set it to the admin token of the service at {url}"
        )
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=15)


def call_service(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One API call; every way it can fail is one line that says what to do."""
    import httpx

    try:
        response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise RuntimeError(
            f"cannot reach the Vigil service at {client.base_url} ({type(exc).__name__}): is "
            "`vigil serve` running there? Point --cloud (or VIGIL_CLOUD_URL) at it"
        ) from None
    if response.status_code in (401, 403):
        raise RuntimeError(f"the service at {client.base_url} refused VIGIL_ADMIN_TOKEN")
    if response.is_error:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise RuntimeError(f"the service said {response.status_code}: {str(detail)[:300]}")
    return response


def run_devices_add(args: argparse.Namespace) -> int:
    from cloud.service.schemas import DeviceRegistered

    body = {"device_id": args.device, "site": args.site, "name": args.name}
    with service_client(args) as client:
        response = call_service(client, "POST", "/api/v1/devices", json=body)
        registered = DeviceRegistered.model_validate(response.json())
        public_key = call_service(client, "GET", "/api/v1/models/public-key").text.strip()
    if args.json:
        print(registered.model_dump_json(indent=2))
    else:
        print(device_text(registered, public_key))
    return 0


def device_text(registered: DeviceRegistered, public_key: str) -> str:
    """What an operator needs: the edge's environment and the broker's lines."""
    d, token, mqtt = registered.device, registered.token, registered.mqtt
    return "\n".join(
        [
            f"registered device {d.id} at site {d.site}",
            "",
            "token (shown once; it is also the device's MQTT password):",
            f"  {token}",
            "",
            "edge environment:",
            f"  VIGIL_DEVICE_ID={d.id}",
            f"  VIGIL_SITE={d.site}",
            f"  VIGIL_DEVICE_TOKEN={token}",
            f"  VIGIL_MQTT__USERNAME={mqtt.username}",
            f"  VIGIL_MQTT_PASSWORD={token}",
            f"  VIGIL_MQTT__TOPIC_ROOT={registered.topic_root}",
            f"  VIGIL_CLOUD_URL={registered.cloud_url}",
            f"  VIGIL_MODEL__PUBLIC_KEY={public_key}",
            "",
            "Mosquitto password_file line:",
            f"  {mqtt.password_file_line}",
            "",
            "Mosquitto acl_file lines:",
            *(f"  {line}" for line in mqtt.acl_lines),
        ]
    )


def run_devices_list(args: argparse.Namespace) -> int:
    with service_client(args) as client:
        devices = call_service(client, "GET", "/api/v1/devices").json()
    print(json.dumps(devices, indent=2))
    return 0
