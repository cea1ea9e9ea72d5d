"""The agents' console: accounts, server-side sessions and the audit log.

Sessions live in the database (the cookie holds a random token; the table holds its digest),
so a replica restart or a second replica keeps agents logged in, and logging out or disabling
an account ends its sessions everywhere at once.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any, Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import JSON, Boolean, Column, DateTime, ForeignKey, Integer, String
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Mapped, relationship

from bot.db.models import Base, utcnow
from bot.db.session import Database

ROLES: tuple[str, ...] = ("admin", "agent")


class ConsoleAccount(Base):
    __tablename__ = "console_accounts"
    id: Mapped[int] = Column(Integer, primary_key=True)
    username: Mapped[str] = Column(String(64), unique=True, nullable=False)
    display_name: Mapped[Optional[str]] = Column(String(128))
    password_hash: Mapped[str] = Column(String(255), nullable=False)
    role: Mapped[str] = Column(String(16), default="agent", nullable=False)
    # The console's language for this agent: "fr" or "ar" (right-to-left).
    language: Mapped[str] = Column(String(4), default="fr", nullable=False)
    disabled: Mapped[bool] = Column(Boolean, default=False, nullable=False)
    failed_logins: Mapped[int] = Column(Integer, default=0, nullable=False)
    locked_until: Mapped[Optional[dt.datetime]] = Column(DateTime)
    created_at: Mapped[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)
    last_login_at: Mapped[Optional[dt.datetime]] = Column(DateTime)


class ConsoleSession(Base):
    __tablename__ = "console_sessions"
    id: Mapped[int] = Column(Integer, primary_key=True)
    digest: Mapped[str] = Column(String(64), unique=True, nullable=False)
    account_id: Mapped[int] = Column(ForeignKey("console_accounts.id"), nullable=False)
    csrf_token: Mapped[str] = Column(String(64), nullable=False)
    created_at: Mapped[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)
    expires_at: Mapped[dt.datetime] = Column(DateTime, nullable=False)

    account: Mapped[ConsoleAccount] = relationship("ConsoleAccount")


class AuditEntry(Base):
    """Who changed what, when: every write the console makes adds one."""

    __tablename__ = "audit_log"
    id: Mapped[int] = Column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = Column(DateTime, default=utcnow, nullable=False, index=True)
    actor: Mapped[str] = Column(String(64), nullable=False)
    action: Mapped[str] = Column(String(64), nullable=False)
    entity: Mapped[Optional[str]] = Column(String(64))
    entity_id: Mapped[Optional[str]] = Column(String(64))
    details: Mapped[Optional[dict[str, Any]]] = Column(JSON)


# ---- queries ---------------------------------------------------------------------------------

MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
SESSION_LIFETIME = dt.timedelta(hours=12)
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Agent:
    """The logged-in agent, as request handlers see it (no ORM object outlives its session)."""

    id: int
    username: str
    display_name: str
    role: str
    language: str
    csrf_token: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class LoginRefused(Exception):
    def __init__(self, reason: str, locked_until: Optional[dt.datetime] = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.locked_until = locked_until


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    """The stored form of a password (argon2id): for a reset as for a new account."""
    return _hasher.hash(password)


def create_account(
    database: Database, username: str, password: str, role: str = "agent",
    display_name: Optional[str] = None, language: str = "fr",
) -> int:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise ValueError("the password must have at least 8 characters")
    with database.session() as session:
        account = ConsoleAccount(
            username=username.strip().lower(), password_hash=hash_password(password), role=role,
            display_name=display_name or username, language=language,
        )
        session.add(account)
        session.flush()
        return int(account.id)


def ensure_first_admin(database: Database, username: Optional[str], password: Optional[str]) -> bool:
    """CONTRACT §7: the first console account, created at start if none exists."""
    if not username or not password:
        return False
    with database.session() as session:
        if session.execute(select(func.count(ConsoleAccount.id))).scalar_one():
            return False
    create_account(database, username, password, role="admin")
    audit(database, "system", "account.create", "console_account", username, {"role": "admin"})
    return True


def authenticate(database: Database, username: str, password: str, now: Optional[dt.datetime] = None) -> int:
    """The account id for a right password; counts failures and locks after five.

    An unknown user costs the same hash verification as a known one, so timing does not
    reveal which usernames exist.
    """
    now = now or utcnow()
    with database.session() as session:
        account = session.execute(
            select(ConsoleAccount).where(ConsoleAccount.username == username.strip().lower())
        ).scalar_one_or_none()
        if account is None or account.disabled:
            _verify(_DUMMY_HASH, password)
            raise LoginRefused("invalid")
        if account.locked_until is not None and account.locked_until > now:
            raise LoginRefused("locked", account.locked_until)
        if not _verify(account.password_hash, password):
            account.failed_logins += 1
            if account.failed_logins >= MAX_FAILED_LOGINS:
                account.locked_until = now + LOCKOUT
                account.failed_logins = 0
                session.add(AuditEntry(actor=account.username, action="login.locked"))
                session.commit()
                raise LoginRefused("locked", account.locked_until)
            session.commit()
            raise LoginRefused("invalid")
        account.failed_logins = 0
        account.locked_until = None
        account.last_login_at = now
        if _hasher.check_needs_rehash(account.password_hash):
            account.password_hash = _hasher.hash(password)
        return int(account.id)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH = _hasher.hash("sawt-timing-equaliser")


def open_session(database: Database, account_id: int, now: Optional[dt.datetime] = None) -> str:
    """A new session; returns the cookie token (only its digest is stored)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    with database.session() as session:
        session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
        session.add(
            ConsoleSession(
                digest=_digest(token), account_id=account_id,
                csrf_token=secrets.token_urlsafe(24), expires_at=now + SESSION_LIFETIME,
            )
        )
    return token


def agent_for_session(database: Database, token: str, now: Optional[dt.datetime] = None) -> Optional[Agent]:
    now = now or utcnow()
    with database.session() as session:
        row = session.execute(
            select(ConsoleSession, ConsoleAccount)
            .join(ConsoleAccount, ConsoleAccount.id == ConsoleSession.account_id)
            .where(ConsoleSession.digest == _digest(token), ConsoleSession.expires_at > now)
        ).first()
        if row is None or row[1].disabled:
            return None
        console_session, account = row
        return Agent(
            id=account.id, username=account.username,
            display_name=account.display_name or account.username, role=account.role,
            language=account.language, csrf_token=console_session.csrf_token,
        )


def close_session(database: Database, token: str) -> None:
    with database.session() as session:
        session.execute(delete(ConsoleSession).where(ConsoleSession.digest == _digest(token)))


def audit(
    database: Database, actor: str, action: str, entity: Optional[str] = None,
    entity_id: Optional[str] = None, details: Optional[dict[str, Any]] = None,
) -> None:
    with database.session() as session:
        session.add(AuditEntry(actor=actor, action=action, entity=entity, entity_id=entity_id, details=details))
