"""Model updates: download, verify (size, sha256, Ed25519 signature), load, warm up, swap.

The signature is checked over the artifact's bytes with the site's public key from the
config, so neither a corrupt download nor an artifact from anyone without the private
key ever runs. Without a configured key no update is accepted (the local `--model` file,
placed by the operator, is the only trusted one). A refused model leaves the running
one running; the reason goes into the heartbeat's `last_error`.

Verified artifacts are cached by version, so `switch_model` can go back to any model
this device has run, with its sha256 checked again on load.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import threading
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from edge.backend import ModelHolder, ModelLoadError, OnnxBackend
from edge.stats import AgentStats
from edge.transport.base import TransportError
from edge.transport.http import CloudClient
from shared.messages import ModelAnnouncement

log = logging.getLogger(__name__)


class ModelRejected(ValueError):
    """A model update was refused; the message says which model and why."""


def load_public_key(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key as PEM (SubjectPublicKeyInfo) or as base64 of its 32 raw bytes."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the PEM public key is not an Ed25519 key")
        return key
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError("public key is neither PEM nor base64") from exc
    if len(raw) != 32:
        raise ValueError(f"a raw Ed25519 public key has 32 bytes, got {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def verify_artifact(data: bytes, ann: ModelAnnouncement, key: Ed25519PublicKey | None) -> None:
    """Raise ModelRejected unless `data` is exactly the announced, signed artifact."""
    where = f"model {ann.version}"
    if key is None:
        raise ModelRejected(f"{where}: no public key configured, cannot verify its signature")
    if len(data) != ann.size_bytes:
        raise ModelRejected(f"{where}: size {len(data)} bytes, announced {ann.size_bytes}")
    digest = hashlib.sha256(data).hexdigest()
    if digest != ann.sha256:
        raise ModelRejected(f"{where}: sha256 {digest[:12]}... != announced {ann.sha256[:12]}...")
    try:
        signature = base64.b64decode(ann.signature, validate=True)
        key.verify(signature, data)
    except (binascii.Error, InvalidSignature) as exc:
        raise ModelRejected(f"{where}: bad signature") from exc


class ModelCache:
    """Verified artifacts by version: `<version>.onnx` beside its announcement JSON."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, ann: ModelAnnouncement, data: bytes) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f"{ann.version}.onnx.tmp"
        tmp.write_bytes(data)
        tmp.replace(self.root / f"{ann.version}.onnx")
        (self.root / f"{ann.version}.json").write_text(ann.model_dump_json(), encoding="utf-8")

    def load(self, version: str) -> bytes:
        meta, artifact = self.root / f"{version}.json", self.root / f"{version}.onnx"
        if not (meta.is_file() and artifact.is_file()):
            raise ModelRejected(f"model {version} is not available on this device")
        ann = ModelAnnouncement.model_validate_json(meta.read_text(encoding="utf-8"))
        data = artifact.read_bytes()
        if hashlib.sha256(data).hexdigest() != ann.sha256:
            raise ModelRejected(f"model {version}: cached artifact is corrupt")
        return data


class ModelUpdater:
    """Applies announcements and switch commands; one at a time (a lock serialises them)."""

    def __init__(
        self,
        holder: ModelHolder,
        cache: ModelCache,
        public_key: Ed25519PublicKey | None,
        cloud: CloudClient | None,
        stats: AgentStats,
        threads: int = 1,
    ) -> None:
        self.holder = holder
        self.cache = cache
        self.public_key = public_key
        self.cloud = cloud
        self.stats = stats
        self.threads = threads
        self._lock = threading.Lock()
        self.refused = 0

    def apply(self, ann: ModelAnnouncement) -> bool:
        """Install an announced model; False (and reported) if it was refused."""
        with self._lock:
            if ann.version == self.holder.current.version:
                return False
            try:
                backend = self._fetch_verified(ann)
            except ModelRejected as exc:
                self._refuse(str(exc))
                return False
            self._swap(backend)
            return True

    def _fetch_verified(self, ann: ModelAnnouncement) -> OnnxBackend:
        if self.cloud is None:
            raise ModelRejected(f"model {ann.version}: no cloud URL to download it from")
        try:
            data = self.cloud.fetch(ann.url)
        except TransportError as exc:
            raise ModelRejected(f"model {ann.version}: download failed: {exc}") from exc
        verify_artifact(data, ann, self.public_key)
        backend = self._load(data, ann.version)
        if list(backend.labels) != list(ann.labels):
            raise ModelRejected(f"model {ann.version}: labels differ from the announcement")
        self.cache.save(ann, data)
        return backend

    def _load(self, data: bytes, version: str) -> OnnxBackend:
        """Load and warm up (inside OnnxBackend); any failure is a refusal."""
        try:
            backend = OnnxBackend(data, threads=self.threads, source=f"model {version}")
        except ModelLoadError as exc:
            raise ModelRejected(str(exc)) from exc
        if backend.version != version:
            raise ModelRejected(f"model {version}: its metadata says {backend.version}")
        return backend

    def switch_to(self, version: str) -> str:
        """Run `version` (the previous model, or one cached here); raise ModelRejected if not."""
        with self._lock:
            if version == self.holder.current.version:
                return f"already running {version}"
            previous = self.holder.previous
            if previous is not None and previous.version == version:
                self.holder.rollback()
                log.info("rolled back to model %s", version)
                return f"rolled back to {version}"
            backend = self._load(self.cache.load(version), version)
            self._swap(backend)
            return f"switched to {version}"

    def _swap(self, backend: OnnxBackend) -> None:
        old = self.holder.swap(backend)
        log.info("model %s -> %s", old.version, backend.version)

    def _refuse(self, reason: str) -> None:
        self.refused += 1
        self.stats.error(reason)
        log.error("model update refused: %s", reason)
