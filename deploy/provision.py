#!/usr/bin/env python3
"""Provision an edge device: register it with the cloud, write its config and its secrets.

    VIGIL_ADMIN_TOKEN=... python deploy/provision.py --cloud https://vigil.example \\
        --site rosewood --device cam-lounge-1 --mqtt-url mqtts://vigil.example:8883 \\
        --out ./cam-lounge-1

OUT/edge.yaml holds the configuration and no secret (`vigil edge run` refuses secrets in
YAML, edge/config.py); OUT/edge.env holds the device token and MQTT password (mode 0600)
for systemd's `EnvironmentFile=` or `set -a; . edge.env`. The broker admin's
password_file and acl_file lines go to stdout; the token itself is never printed.

Deployment tooling, not a package: it needs only httpx and PyYAML (both in the edge
extra), so it runs on the device or on an operator's laptop.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

API = "/api/v1"
ADMIN_TOKEN_ENV = "VIGIL_ADMIN_TOKEN"
# What a token, URL or source may look like in edge.env: the file is read both by systemd
# (EnvironmentFile=) and by `sh` (`set -a; . edge.env`), which quote differently, so only
# values that need no quoting at all are written.
ENV_SAFE = re.compile(r"^[A-Za-z0-9_.:/@%+=,-]+$")


class ProvisionError(RuntimeError):
    """Provisioning cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Registration:
    """What the cloud returns for a new device (cloud/service/schemas.py DeviceRegistered)."""

    device_id: str
    site: str
    token: str
    mqtt_username: str
    password_file_line: str
    acl_lines: list[str]

    @property
    def topic_root(self) -> str:
        """The cloud's topic root (VIGIL_MQTT_TOPIC_ROOT), read off the topics it granted."""
        topics = [line.split()[-1] for line in self.acl_lines if line.startswith("topic ")]
        roots = {topic.split("/")[0] for topic in topics}
        if len(roots) != 1:
            raise ProvisionError(f"cannot tell the topic root from {self.acl_lines}")
        return roots.pop()

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> Registration:
        mqtt = body["mqtt"]
        return cls(
            device_id=body["device"]["id"],
            site=body["device"]["site"],
            token=body["token"],
            mqtt_username=mqtt["username"],
            password_file_line=mqtt["password_file_line"],
            acl_lines=list(mqtt["acl_lines"]),
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cloud", required=True, metavar="URL", help="cloud base URL (admin API)")
    p.add_argument("--site", required=True, help="site id, e.g. rosewood")
    p.add_argument("--device", required=True, help="device id, unique across sites")
    p.add_argument("--out", required=True, type=Path, help="folder for edge.yaml and edge.env")
    p.add_argument("--name", default="", help="a human name for the device")
    p.add_argument("--camera", default="cam0", help="camera name in events")
    p.add_argument("--source", default="0", help="VIGIL_SOURCE: camera index, file or URL")
    p.add_argument("--mqtt-url", help="broker URL for the device (none: HTTP only)")
    p.add_argument("--ca-file", type=Path, help="CA bundle on the device, for mqtts://")
    p.add_argument("--device-cloud-url", help="cloud URL as the device sees it (default --cloud)")
    p.add_argument("--data-dir", default="/var/lib/vigil-edge", help="data_dir on the device")
    p.add_argument("--broker-passwd", type=Path, help="also append the password line to this file")
    p.add_argument(
        "--skip-if-present",
        action="store_true",
        help="do nothing when OUT/edge.env exists for this device (idempotent start-up)",
    )
    p.add_argument("--timeout", type=float, default=30.0, help="HTTP timeout, seconds")
    return p.parse_args(argv)


def admin_token() -> str:
    token = os.environ.get(ADMIN_TOKEN_ENV, "")
    if not token:
        raise ProvisionError(f"{ADMIN_TOKEN_ENV} is not set (the cloud's admin token)")
    return token


def register(client: httpx.Client, site: str, device: str, name: str) -> Registration:
    """POST /api/v1/devices; the token in the answer is shown once, never again."""
    response = client.post(f"{API}/devices", json={"device_id": device, "site": site, "name": name})
    if response.status_code == httpx.codes.CONFLICT:
        raise ProvisionError(
            f"device {device!r} is registered already and its token was shown only then; "
            "use the edge.env written at the time, or register under a new device id"
        )
    check(response, "register the device")
    return Registration.from_api(response.json())


def public_key(client: httpx.Client) -> str:
    """The Ed25519 key (PEM) that signs model artifacts; the edge refuses unsigned models."""
    response = client.get(f"{API}/models/public-key")
    check(response, "fetch the model-signing public key")
    return response.text.strip()


def check(response: httpx.Response, doing: str) -> None:
    if response.is_success:
        return
    detail = response.text[:300]
    raise ProvisionError(f"cannot {doing}: HTTP {response.status_code} {detail}")


def edge_config(args: argparse.Namespace, reg: Registration, key: str) -> dict[str, Any]:
    """edge.yaml: the keys of edge/config.py EdgeSettings, secrets excluded."""
    mqtt: dict[str, Any] = {"topic_root": reg.topic_root}
    if args.mqtt_url:
        mqtt |= {"url": args.mqtt_url, "username": reg.mqtt_username}
    if args.ca_file:
        mqtt["ca_file"] = str(args.ca_file)
    return {
        "device_id": reg.device_id,
        "site": reg.site,
        "camera": args.camera,
        "cloud_url": device_cloud_url(args),
        "data_dir": args.data_dir,
        "mqtt": mqtt,
        "model": {"public_key": key},
    }


def edge_environment(args: argparse.Namespace, reg: Registration) -> dict[str, str]:
    """edge.env: the secrets, plus what the systemd unit's ExecStart line needs."""
    env = {
        "VIGIL_DEVICE_TOKEN": reg.token,
        # The cloud makes the token the device's MQTT password too (cloud/service/devices.py).
        "VIGIL_MQTT_PASSWORD": reg.token,
        "VIGIL_CLOUD_URL": device_cloud_url(args),
        "VIGIL_SOURCE": args.source,
    }
    unsafe = [k for k, v in env.items() if not ENV_SAFE.match(v)]
    if unsafe:
        raise ProvisionError(f"values of {unsafe} need quoting; use plain URLs and sources")
    return env


def device_cloud_url(args: argparse.Namespace) -> str:
    return str(args.device_cloud_url or args.cloud).rstrip("/")


def write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Write atomically; the file has `mode` from its creation, never a readable moment."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (the PEM public key) as `|` blocks, as a person would write them."""


_BlockDumper.add_representer(
    str,
    lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None
    ),
)


def write_outputs(out: Path, config: dict[str, Any], env: dict[str, str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    header = "# Written by deploy/provision.py. Secrets live in edge.env, never here.\n"
    text = yaml.dump(config, Dumper=_BlockDumper, sort_keys=False)
    write_private(out / "edge.yaml", header + text, 0o644)
    lines = "".join(f"{key}={value}\n" for key, value in env.items())
    write_private(out / "edge.env", "# Secrets of this device: keep 0600.\n" + lines)


def already_provisioned(out: Path, device: str) -> bool:
    """edge.env exists for this device; for another one it is an error, not a skip."""
    if not (out / "edge.env").exists():
        return False
    config = yaml.safe_load((out / "edge.yaml").read_text(encoding="utf-8")) or {}
    if config.get("device_id") != device:
        raise ProvisionError(f"{out} holds device {config.get('device_id')!r}, not {device!r}")
    return True


def check_writable(out: Path) -> None:
    """Fail before registering: the token is shown once, so it must have somewhere to go."""
    if (out / "edge.env").exists():
        raise ProvisionError(f"{out}/edge.env exists; move it away (it holds a device's token)")
    out.mkdir(parents=True, exist_ok=True)
    probe = out / ".provision-probe"
    probe.write_text("")
    probe.unlink()


def append_line(path: Path, line: str) -> None:
    """Append to a Mosquitto password file (the broker reloads it, see the entrypoint)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write(line.rstrip("\n") + "\n")


def broker_text(reg: Registration) -> str:
    return "\n".join(
        [
            f"Mosquitto password_file line for {reg.mqtt_username}:",
            f"  {reg.password_file_line}",
            "",
            "Mosquitto acl_file lines (deploy/mosquitto/acl's pattern lines already grant",
            "these; add them only to a broker that does not use those patterns):",
            *(f"  {line}" for line in reg.acl_lines),
        ]
    )


def provision(args: argparse.Namespace) -> int:
    if args.skip_if_present and already_provisioned(args.out, args.device):
        print(f"{args.device}: already provisioned in {args.out}; nothing to do")
        return 0
    check_writable(args.out)
    headers = {"Authorization": f"Bearer {admin_token()}"}
    with httpx.Client(base_url=args.cloud, headers=headers, timeout=args.timeout) as client:
        key = public_key(client)
        reg = register(client, args.site, args.device, args.name)
    write_outputs(args.out, edge_config(args, reg, key), edge_environment(args, reg))
    if args.broker_passwd is not None:
        append_line(args.broker_passwd, reg.password_file_line)
    print(f"registered {reg.device_id} at site {reg.site}; wrote {args.out}/edge.yaml, edge.env")
    print(broker_text(reg))
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return provision(parse_args(argv))
    except (ProvisionError, httpx.HTTPError, OSError) as exc:
        print(f"provision: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
