"""The platform-neutral wire formats between the channels, the inbox, the brain and the outbox."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal, Optional, TypedDict, Union

from bot.identity import make_sender_id

# "other": a kind the assistant cannot read at all (a poll, a game, an unsupported message).
MediaKind = Literal["photo", "voice", "audio", "video", "document", "sticker", "contact", "other"]


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    name: Optional[str] = None


@dataclass(frozen=True)
class Media:
    kind: MediaKind
    # The platform's handle to fetch it later (Telegram file_id, WhatsApp media id).
    platform_id: str
    mime_type: Optional[str] = None
    caption: Optional[str] = None


@dataclass(frozen=True)
class Inbound:
    """One thing a citizen sent, as every channel reports it.

    `message_id` is the platform's own id (Telegram `update_id`, WhatsApp `wamid…`): the inbox's
    key for dropping a platform's retry of the same delivery.
    """

    channel: str
    user_id: str
    message_id: str
    text: Optional[str] = None
    # A button press: a Rasa payload such as '/procedure_documents{"procedure":"birth_certificate"}'.
    payload: Optional[str] = None
    location: Optional[Location] = None
    media: Optional[Media] = None
    language_hint: Optional[str] = None
    # Anything the brain should know but need not parse (deep-link start parameter, …).
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def sender_id(self) -> str:
        return make_sender_id(self.channel, self.user_id)


class Button(TypedDict):
    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    """One message of the assistant, before a platform renderer shapes it."""

    text: str
    buttons: tuple[Button, ...] = ()
    image: Optional[str] = None


@dataclass(frozen=True)
class MembershipChange:
    """The citizen blocked the bot: they are unsubscribed and nothing more is sent."""

    channel: str
    user_id: str
    blocked: bool


@dataclass(frozen=True)
class DeliveryStatus:
    """What the platform later says of a message it accepted (WhatsApp statuses)."""

    channel: str
    platform_message_id: str
    status: str  # sent, delivered, read, failed
    at: dt.datetime
    error_code: Optional[int] = None
    error_title: Optional[str] = None


# What a channel makes of one platform update; None means "nothing to do" (ignored kinds).
ChannelEvent = Union[Inbound, MembershipChange, DeliveryStatus]
