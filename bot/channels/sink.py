"""Where a channel hands what it parsed: the inbox for messages, the outbox for the rest."""
from __future__ import annotations

from bot.channels.base import ChannelEvent, DeliveryStatus, Inbound, MembershipChange
from bot.inbox import Inbox
from bot.outbox import Outbox


class EventSink:
    def __init__(self, inbox: Inbox, outbox: Outbox) -> None:
        self.inbox = inbox
        self.outbox = outbox

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
