"""API tokens for `/api/v1`: random, shown once, stored as a SHA-256 digest.

Tokens carry 256 bits of randomness, so a fast digest is enough (no password hashing needed);
the digest makes a leaked database useless for calling the API.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Optional

from sqlalchemy import Column, DateTime, Integer, String, select
from sqlalchemy.orm import Mapped

from bot.db.models import Base, utcnow
from bot.db.session import Database

TOKEN_PREFIX = "sawt_"


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = Column(Integer, primary_key=True)
    name: Mapped[str] = Column(String(64), nullable=False)
    digest: Mapped[str] = Column(String(64), unique=True, nullable=False)
    created_at: Mapped[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)
    last_used_at: Mapped[Optional[dt.datetime]] = Column(DateTime)
    revoked_at: Mapped[Optional[dt.datetime]] = Column(DateTime)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


MAX_NAME = 64


def create_token(database: Database, name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"a token's name must have 1 to {MAX_NAME} characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with database.session() as session:
        session.add(ApiToken(name=name, digest=_digest(token)))
    return token


def token_owner(database: Database, token: str) -> Optional[str]:
    """The token's name when it is valid (and records its use); None otherwise."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    with database.session() as session:
        row = session.execute(
            select(ApiToken).where(ApiToken.digest == _digest(token), ApiToken.revoked_at.is_(None))
        ).scalar_one_or_none()
        if row is None:
            return None
        row.last_used_at = utcnow()
        return row.name


def revoke_tokens(database: Database, name: str) -> int:
    """Revoke every live token of that name (a leaked or retired integration); returns how many."""
    with database.session() as session:
        rows = session.execute(
            select(ApiToken).where(ApiToken.name == name.strip(), ApiToken.revoked_at.is_(None))
        ).scalars().all()
        for row in rows:
            row.revoked_at = utcnow()
        return len(rows)
