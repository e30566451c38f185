"""Bearer tokens and roles: who is calling, and what each role may do.

Tokens are 256-bit random strings, stored only as their sha256. A slow password hash
(bcrypt, PBKDF2) exists to make guessing a *low-entropy* secret expensive; nobody can
enumerate 2**256 candidates, so a fast hash loses nothing here and lets every request
find its token with one indexed lookup. The admin token comes from the environment and
is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.service.db.tables import ApiToken, Device

TOKEN_PREFIX = "vgl_"


class Role(StrEnum):
    ADMIN = "admin"
    VIEWER = "viewer"
    DEVICE = "device"


@dataclass(frozen=True)
class Principal:
    """Whoever presented a valid token."""

    role: Role
    name: str
    device_id: str | None = None
    site: str | None = None

    @property
    def can_view(self) -> bool:
        return self.role in (Role.ADMIN, Role.VIEWER)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session, role: Role, name: str, now: datetime, device_id: str | None = None
) -> tuple[str, ApiToken]:
    """Create a token row; the plain token is returned once and never stored."""
    token = new_token()
    row = ApiToken(
        token_hash=hash_token(token),
        role=role.value,
        name=name,
        device_id=device_id,
        created_at=now,
    )
    session.add(row)
    return token, row


def authenticate(session: Session, token: str, admin_token: str) -> Principal | None:
    """The principal a token stands for, or None when it is unknown or revoked."""
    if hmac.compare_digest(hash_token(token), hash_token(admin_token)):
        return Principal(role=Role.ADMIN, name="admin")
    found = session.execute(
        select(ApiToken, Device)
        .outerjoin(Device, Device.id == ApiToken.device_id)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    ).first()
    if found is None:
        return None
    row, device = found
    return Principal(
        role=Role(row.role),
        name=row.name,
        device_id=row.device_id,
        site=device.site if device is not None else None,
    )
