"""API tokens for people: the admin creates viewer tokens (for the dashboard) and revokes them."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import select

from cloud.service.api.deps import CurrentAdmin, RowId, SessionDep
from cloud.service.auth import Role, issue_token
from cloud.service.db.tables import ApiToken
from cloud.service.schemas import TokenCreate, TokenCreated, TokenPublic
from shared.messages import utc_now

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_viewer_token(body: TokenCreate, session: SessionDep, _: CurrentAdmin) -> TokenCreated:
    """Create a viewer token; the token is in this response only (it is stored hashed)."""
    token, row = issue_token(session, Role.VIEWER, body.name, utc_now())
    session.commit()
    return TokenCreated(**TokenPublic.model_validate(row).model_dump(), token=token)


@router.get("")
def list_tokens(session: SessionDep, _: CurrentAdmin) -> list[TokenPublic]:
    """Every token (never the secret)."""
    rows = session.scalars(select(ApiToken).order_by(ApiToken.id))
    return [TokenPublic.model_validate(row) for row in rows]


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: RowId, session: SessionDep, _: CurrentAdmin) -> None:
    """Revoke a token at once."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no token {token_id}")
    row.revoked_at = row.revoked_at or utc_now()
    session.commit()
