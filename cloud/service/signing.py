"""The Ed25519 key that signs model artifacts: made on first start, kept 0600.

Devices verify an artifact's bytes against the public key before loading it, so a
compromised download path cannot ship them a model.
"""

from __future__ import annotations

import base64
import logging
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger(__name__)

KEY_FILE = "model-signing.key"


class ModelSigner:
    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key

    @classmethod
    def load_or_create(cls, key_dir: Path) -> ModelSigner:
        return cls(load_or_create_key(key_dir / KEY_FILE))

    def sign(self, data: bytes) -> str:
        """base64 signature of `data`, as ModelAnnouncement.signature carries it."""
        return base64.b64encode(self._key.sign(data)).decode()

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._key.public_key()

    def public_key_base64(self) -> str:
        """The raw 32-byte key in base64 (fits an environment variable on the device)."""
        raw = self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return base64.b64encode(raw).decode()

    def public_key_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """Read the key at `path`, or create it there (only one of several starters wins)."""
    if not path.exists():
        _create_key(path)
    _check_mode(path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} holds a {type(key).__name__}, not an Ed25519 private key")
    return key


def _create_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    try:
        os.link(tmp, path)  # atomic and fails if another process made the key first
        log.info("created the model signing key %s", path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def _check_mode(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o); setting it to 0600", path, mode)
        path.chmod(0o600)
