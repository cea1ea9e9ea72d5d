"""Durable inbox and outbox tables: nothing a citizen sends or is sent is held only in memory.

An inbound platform message is a row before its webhook is acknowledged; its replies are
outbox rows written in the same transaction that marks it processed; a sender worker turns
outbox rows into platform calls and records the platform's message id and later its
delivery status. A restart resumes from the rows.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped

from bot.db.models import Base, utcnow

INBOX_STATUSES = ("pending", "done", "failed")
OUTBOX_STATUSES = ("pending", "sending", "sent", "delivered", "read", "failed")


class InboxMessage(Base):
    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "platform_message_id"),
        Index("ix_inbox_status_id", "status", "id"),
    )
    id: Mapped[int] = Column(Integer, primary_key=True)
    channel: Mapped[str] = Column(String(16), nullable=False)
    platform_message_id: Mapped[str] = Column(String(128), nullable=False)
    user_id: Mapped[str] = Column(String(128), nullable=False)
    # The parsed `Inbound`, so processing never needs the platform's raw payload again.
    inbound: Mapped[dict[str, Any]] = Column(JSON, nullable=False)
    status: Mapped[str] = Column(String(16), default="pending", nullable=False)
    attempts: Mapped[int] = Column(Integer, default=0, nullable=False)
    error: Mapped[Optional[str]] = Column(Text)
    received_at: Mapped[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)
    processed_at: Mapped[Optional[dt.datetime]] = Column(DateTime)


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due", "status", "next_attempt_at"),
        Index("ix_outbox_platform_id", "channel", "platform_message_id"),
        # A broadcast reaches each citizen once, however often its expansion is retried.
        UniqueConstraint("broadcast_id", "channel", "user_id"),
    )
    id: Mapped[int] = Column(Integer, primary_key=True)
    channel: Mapped[str] = Column(String(16), nullable=False)
    user_id: Mapped[str] = Column(String(128), nullable=False)
    inbox_id: Mapped[Optional[int]] = Column(ForeignKey("inbox.id"))
    broadcast_id: Mapped[Optional[int]] = Column(ForeignKey("broadcasts.id"))
    # A platform request, rendered once: {"method": ..., "params": ...} or a Graph API body.
    request: Mapped[dict[str, Any]] = Column(JSON, nullable=False)
    # Several rows of one reply go out in this order for one recipient.
    status: Mapped[str] = Column(String(16), default="pending", nullable=False)
    attempts: Mapped[int] = Column(Integer, default=0, nullable=False)
    next_attempt_at: Mapped[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)
    claimed_at: Mapped[Optional[dt.datetime]] = Column(DateTime)
    platform_message_id: Mapped[Optional[str]] = Column(String(128))
    error_code: Mapped[Optional[int]] = Column(Integer)
    error: Mapped[Optional[str]] = Column(Text)
    created_at: Mapped[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)
    sent_at: Mapped[Optional[dt.datetime]] = Column(DateTime)
    status_at: Mapped[Optional[dt.datetime]] = Column(DateTime)


class Contact(Base):
    """Everyone who wrote to the bot on a platform: WhatsApp's 24-hour window, blocks."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("channel", "user_id"),)
    id: Mapped[int] = Column(Integer, primary_key=True)
    channel: Mapped[str] = Column(String(16), nullable=False)
    user_id: Mapped[str] = Column(String(128), nullable=False)
    first_seen_at: Mapped[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)
    last_inbound_at: Mapped[Optional[dt.datetime]] = Column(DateTime)
    blocked_at: Mapped[Optional[dt.datetime]] = Column(DateTime)
    # WhatsApp numbered menus: the payloads of the last list sent as text ("answer 1-12").
    last_menu: Mapped[Optional[list[str]]] = Column(JSON)


class ButtonKey(Base):
    """A long button payload behind the short key a platform carries (see bot.channels.keys)."""

    __tablename__ = "button_keys"
    key: Mapped[str] = Column(String(32), primary_key=True)
    payload: Mapped[str] = Column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)


class Broadcast(Base):
    """An announcement to subscribers; its deliveries are outbox rows carrying its id."""

    __tablename__ = "broadcasts"
    id: Mapped[int] = Column(Integer, primary_key=True)
    text: Mapped[dict[str, str]] = Column(JSON, nullable=False)
    # {"channels": [...], "languages": [...], "districts": [...], "topics": [...]}; empty = all
    audience: Mapped[dict[str, list[str]]] = Column(JSON, default=dict, nullable=False)
    # For WhatsApp recipients outside the 24-hour window: {"name", "language", "parameters"}.
    template: Mapped[Optional[dict[str, Any]]] = Column(JSON)
    # scheduled, expanding, sending, done, cancelled
    status: Mapped[str] = Column(String(16), default="scheduled", nullable=False)
    scheduled_at: Mapped[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)
    created_by: Mapped[Optional[str]] = Column(String(64))
    created_at: Mapped[dt.datetime] = Column(DateTime, default=utcnow, nullable=False)
    started_at: Mapped[Optional[dt.datetime]] = Column(DateTime)
    total: Mapped[Optional[int]] = Column(Integer)
    # Recipients who could not be reached at all (WhatsApp window closed and no template).
    skipped: Mapped[int] = Column(Integer, default=0, nullable=False)
