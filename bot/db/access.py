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


def create_token(database: Database, name: str) -> str:
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
