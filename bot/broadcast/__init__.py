"""Broadcasts: announcements to subscribers, delivered through the outbox."""
