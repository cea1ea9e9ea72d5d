"""Who is talking: Rasa's sender id encodes the channel and the platform's user id.

Telegram and WhatsApp senders are `telegram:<chat_id>` and `whatsapp:<wa_id>`, so an action
that only sees the tracker still knows where to send a later notification. Any other sender
id (the REST channel, the web chat) belongs to the `rest` channel.
"""
from __future__ import annotations

PLATFORM_CHANNELS: tuple[str, ...] = ("telegram", "whatsapp")


def make_sender_id(channel: str, user_id: str) -> str:
    return f"{channel}:{user_id}" if channel in PLATFORM_CHANNELS else user_id


def split_sender_id(sender_id: str) -> tuple[str, str]:
    channel, sep, user_id = sender_id.partition(":")
    if sep and channel in PLATFORM_CHANNELS and user_id:
        return channel, user_id
    return "rest", sender_id
