"""Where a channel hands what it parsed: the inbox for messages, the outbox for the rest."""
from __future__ import annotations

from bot.channels.base import ChannelEvent, DeliveryStatus, Inbound, MembershipChange
from typing import Iterable, Optional

from bot.inbox import Inbox
from bot.outbox import Outbox
from bot.telemetry import Metrics


class EventSink:
    def __init__(self, inbox: Inbox, outbox: Outbox, metrics: Optional[Metrics] = None) -> None:
        self.inbox = inbox
        self.outbox = outbox
        self.metrics = metrics

    def count(self, channel: str, outcome: str) -> None:
        """One webhook request's outcome, for `sawt_webhook_requests` (operators watch refusals)."""
        if self.metrics is not None:
            self.metrics.webhook_requests.labels(channel=channel, outcome=outcome).inc()

    async def deliver_all(self, channel: str, events: Iterable[ChannelEvent]) -> None:
        """Store every event of one request, then count the request as stored, duplicate or
        ignored. Raises (and counts "unavailable") when the database refuses one."""
        results = []
        try:
            for event in events:
                results.append(await self.deliver(event))
        except Exception:
            self.count(channel, "unavailable")
            raise
        self.count(channel, "ignored" if not results else "stored" if any(results) else "duplicate")

    async def deliver(self, event: ChannelEvent) -> bool:
        """Store or apply one event; False only for a platform's retry of a stored message.

        Raises when the database cannot take it, so the webhook answers 5xx and the platform
        delivers again later: nothing is acknowledged that was not kept.
        """
        if isinstance(event, Inbound):
            return await self.inbox.accept(event)
        if isinstance(event, MembershipChange):
            if event.blocked:
                await self.outbox.blocked(event.channel, event.user_id)
            return True
        if isinstance(event, DeliveryStatus):
            await self.outbox.update_status(
                event.channel, event.platform_message_id, event.status,
                event.error_code, event.error_title, event.at,
            )
            return True
        raise TypeError(f"not a channel event: {event!r}")
