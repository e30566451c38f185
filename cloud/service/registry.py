"""The model registry: versions with artifact, sha256, signature and metrics; promotion.

Production is one version at a time (status `production`); every promotion is kept in
`promotions`, which is what a roll-back walks back through.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cloud.service.db.tables import ModelVersion, Promotion
from cloud.service.signing import ModelSigner
from shared.files import write_bytes_atomic
from shared.messages import ModelAnnouncement, utc_now
from shared.modelmeta import ModelMetadata

CANDIDATE, PRODUCTION, RETIRED = "candidate", "production", "retired"


class ModelNotFound(LookupError):
    """No model version has this name."""


class NothingToRollBack(RuntimeError):
    """There is no earlier production model to return to."""


def read_metadata(onnx_path: Path) -> ModelMetadata:
    """The Vigil metadata an exported student carries (see shared/modelmeta.py)."""
    import onnxruntime as ort  # heavy-ish; only the registry needs it

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    return ModelMetadata.from_properties(session.get_modelmeta().custom_metadata_map)


def json_safe(value: Any) -> Any:
    """NaN and infinities become None: PostgreSQL's json refuses them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


class ModelRegistry:
    def __init__(self, models_dir: Path, signer: ModelSigner, public_base_url: str) -> None:
        self.models_dir = models_dir
        self._signer = signer
        self._base_url = public_base_url.rstrip("/")

    def register(
        self,
        session: Session,
        onnx_path: Path,
        job_id: uuid.UUID | None,
        metrics: dict[str, Any],
        now: datetime,
    ) -> ModelVersion:
        """Copy, hash and sign an exported student and add it as a candidate."""
        meta = read_metadata(onnx_path)
        data = onnx_path.read_bytes()
        name = f"{uuid.uuid4().hex}.onnx"
        write_bytes_atomic(self.models_dir / name, data)
        row = ModelVersion(
            version=self._free_version(session, meta.model_version, job_id),
            status=CANDIDATE,
            created_at=now,
            job_id=job_id,
            artifact_name=name,
            sha256=hashlib.sha256(data).hexdigest(),
            signature=self._signer.sign(data),
            size_bytes=len(data),
            labels=list(meta.labels),
            metrics=json_safe(metrics),
        )
        session.add(row)
        session.flush()
        return row

    def _free_version(self, session: Session, wanted: str, job_id: uuid.UUID | None) -> str:
        if session.get(ModelVersion, wanted) is None:
            return wanted
        suffix = (job_id or uuid.uuid4()).hex[:8]
        return f"{wanted[: 64 - 9]}-{suffix}"

    def get(self, session: Session, version: str) -> ModelVersion:
        row = session.get(ModelVersion, version)
        if row is None:
            raise ModelNotFound(f"no model version {version!r}")
        return row

    def production(self, session: Session) -> ModelVersion | None:
        return session.scalars(
            select(ModelVersion).where(ModelVersion.status == PRODUCTION)
        ).first()

    def promote(
        self, session: Session, version: str, by: str, reason: str, now: datetime | None = None
    ) -> ModelVersion:
        """Make `version` production and retire the previous one (one transaction)."""
        now = now or utc_now()
        row = self.get(session, version)
        current = self.production(session)
        session.execute(
            update(ModelVersion).where(ModelVersion.status == PRODUCTION).values(status=RETIRED)
        )
        row.status, row.promoted_at = PRODUCTION, now
        session.add(
            Promotion(
                version=version,
                previous_version=current.version if current else None,
                promoted_at=now,
                promoted_by=by,
                reason=reason,
            )
        )
        session.flush()
        return row

    def rollback(self, session: Session, by: str) -> ModelVersion:
        """Return to the production model before the current one."""
        current = self.production(session)
        if current is None:
            raise NothingToRollBack("there is no production model")
        last = session.scalars(
            select(Promotion)
            .where(Promotion.version == current.version)
            .order_by(Promotion.id.desc())
        ).first()
        if last is None or last.previous_version is None:
            raise NothingToRollBack(f"{current.version} has no earlier production model")
        return self.promote(session, last.previous_version, by, f"roll-back from {current.version}")

    def artifact_path(self, row: ModelVersion) -> Path:
        return self.models_dir / row.artifact_name

    def announcement(self, row: ModelVersion, site: str) -> ModelAnnouncement:
        return ModelAnnouncement(
            site=site,
            version=row.version,
            url=f"{self._base_url}/api/v1/models/{row.version}/artifact",
            sha256=row.sha256,
            signature=row.signature,
            size_bytes=row.size_bytes,
            labels=row.labels,
            announced_at=row.promoted_at or utc_now(),
        )

    def history(self, session: Session) -> list[Promotion]:
        return list(session.scalars(select(Promotion).order_by(Promotion.id.desc()).limit(100)))
