"""Mosquitto credentials for a device: a `mosquitto_passwd` line and ACL lines.

The password line uses Mosquitto 2's PBKDF2-SHA512 format, `user:$7$ITER$SALT$HASH` with
a 12-byte salt and a 64-byte hash, both base64 (see mosquitto's
`apps/mosquitto_passwd/mosquitto_passwd.c` and `src/password_mosq.c`; checked against
`mosquitto_passwd -b` output). The broker reads the iteration count from the line.
"""

from __future__ import annotations

import base64
import hashlib
import os

from shared.topics import device_topic, model_topic

PBKDF2_ITERATIONS = 101  # mosquitto_passwd's default; the token itself is 256 random bits
SALT_BYTES = 12
HASH_BYTES = 64


def password_line(
    username: str, password: str, iterations: int = PBKDF2_ITERATIONS, salt: bytes | None = None
) -> str:
    """One line for Mosquitto's `password_file`."""
    if ":" in username:
        raise ValueError(f"a Mosquitto user name cannot contain ':' ({username!r})")
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, HASH_BYTES)
    b64 = base64.b64encode
    return f"{username}:$7${iterations}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password_line(line: str, password: str) -> bool:
    """Does `password` match a `$7$` password-file line (used by tests and `devices check`)."""
    _user, _, rest = line.strip().partition(":")
    _empty, kind, iterations, salt, digest = rest.split("$")
    if kind != "7":
        raise ValueError(f"not a PBKDF2-SHA512 ($7$) line: {line!r}")
    computed = hashlib.pbkdf2_hmac(
        "sha512", password.encode(), base64.b64decode(salt), int(iterations), HASH_BYTES
    )
    return base64.b64encode(computed).decode() == digest


def device_acl(site: str, device: str, root: str) -> list[str]:
    """ACL lines: the device writes only its own events/status/ack, reads its cmd and the model."""
    return [
        f"user {device}",
        f"topic write {device_topic(site, device, 'events', root)}",
        f"topic write {device_topic(site, device, 'status', root)}",
        f"topic write {device_topic(site, device, 'ack', root)}",
        f"topic read {device_topic(site, device, 'cmd', root)}",
        f"topic read {model_topic(site, root)}",
    ]
