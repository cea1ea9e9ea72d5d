"""Managing the console's accounts (admins only): create, change role, deactivate, reset a password.

Logging in, sessions and lock-out live in `bot.db.console`; this module changes accounts. Every
change is audited in the same transaction, and none may leave the console without an active
admin (nobody could then manage accounts). Deactivating an account or resetting its password
ends its sessions at once, wherever they are open.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.console import (
    ROLES,
    AuditEntry,
    ConsoleAccount,
    ConsoleSession,
    create_account,
    hash_password,
)
from bot.db.session import Database

# Longer than the start-up admin's minimum: these passwords are chosen in the console.
MIN_PASSWORD_LENGTH = 12
CONSOLE_LANGUAGES = ("fr", "ar")
MAX_DISPLAY_NAME = 128
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


class AccountError(ValueError):
    """A refused change; `key` is the console text that explains it."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    display_name: str
    role: str
    language: str
    active: bool
    created_at: dt.datetime
    last_login_at: Optional[dt.datetime]
    locked_until: Optional[dt.datetime]


def _view(row: ConsoleAccount) -> Account:
    return Account(
        id=row.id, username=row.username, display_name=row.display_name or row.username,
        role=row.role, language=row.language, active=not row.disabled, created_at=row.created_at,
        last_login_at=row.last_login_at, locked_until=row.locked_until,
    )


def _audit(session: Session, actor: str, action: str, account: ConsoleAccount, **details: Any) -> None:
    session.add(AuditEntry(actor=actor, action=action, entity="console_account",
                           entity_id=account.username, details=details or None))


def list_accounts(database: Database) -> list[Account]:
    with database.session() as session:
        rows = session.execute(select(ConsoleAccount).order_by(ConsoleAccount.username)).scalars()
        return [_view(row) for row in rows]


def get_account(database: Database, account_id: int) -> Optional[Account]:
    with database.session() as session:
        row = session.get(ConsoleAccount, account_id)
        return _view(row) if row is not None else None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("accounts_password_short")


def create(
    database: Database, actor: str, username: str, display_name: str, role: str,
    password: str, language: str = "fr",
) -> int:
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise AccountError("accounts_username_invalid")
    if role not in ROLES:
        raise AccountError("accounts_role_invalid")
    if language not in CONSOLE_LANGUAGES:
        language = "fr"
    _check_password(password)
    with database.session() as session:
        taken = session.execute(
            select(ConsoleAccount.id).where(ConsoleAccount.username == username)
        ).first()
    if taken is not None:
        raise AccountError("accounts_username_taken")
    try:
        account_id = create_account(
            database, username, password, role=role,
            display_name=display_name.strip()[:MAX_DISPLAY_NAME] or username, language=language,
        )
    except IntegrityError:  # created by another admin between the check and the insert
        raise AccountError("accounts_username_taken") from None
    with database.session() as session:
        account = session.get(ConsoleAccount, account_id)
        assert account is not None
        _audit(session, actor, "account.create", account, role=role,
               display_name=account.display_name)
    return account_id


def _load(session: Session, account_id: int) -> ConsoleAccount:
    account = session.get(ConsoleAccount, account_id)
    if account is None:
        raise AccountError("accounts_not_found")
    return account


def _keep_an_admin(session: Session, account: ConsoleAccount) -> None:
    """Refuse a change that would take away the last active admin."""
    if account.role != "admin" or account.disabled:
        return
    others = session.execute(
        select(func.count(ConsoleAccount.id)).where(
            ConsoleAccount.role == "admin", ConsoleAccount.disabled.is_(False),
            ConsoleAccount.id != account.id,
        )
    ).scalar_one()
    if not others:
        raise AccountError("accounts_last_admin")


def _end_sessions(session: Session, account: ConsoleAccount) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.account_id == account.id))


def change_role(database: Database, actor: str, account_id: int, role: str) -> bool:
    """Returns whether anything changed."""
    if role not in ROLES:
        raise AccountError("accounts_role_invalid")
    with database.session() as session:
        account = _load(session, account_id)
        if account.role == role:
            return False
        if role != "admin":
            _keep_an_admin(session, account)
        _audit(session, actor, "account.role", account, old=account.role, new=role)
        account.role = role
        return True


def set_active(database: Database, actor: str, account_id: int, active: bool) -> bool:
    """Deactivate (sessions end, login refused) or reactivate (lock-out cleared)."""
    with database.session() as session:
        account = _load(session, account_id)
        if account.disabled != active:
            return False
        if active:
            account.disabled = False
            account.failed_logins = 0
            account.locked_until = None
            _audit(session, actor, "account.reactivate", account)
        else:
            _keep_an_admin(session, account)
            account.disabled = True
            _end_sessions(session, account)
            _audit(session, actor, "account.deactivate", account)
        return True


def reset_password(database: Database, actor: str, account_id: int, password: str) -> None:
    """A new password chosen by an admin: the old sessions end and any lock-out is lifted."""
    _check_password(password)
    with database.session() as session:
        account = _load(session, account_id)
        account.password_hash = hash_password(password)
        account.failed_logins = 0
        account.locked_until = None
        _end_sessions(session, account)
        _audit(session, actor, "account.password_reset", account)
