"""Telegram updates as the assistant's events: what a citizen sent, or that they blocked us.

Every kind of update a bot receives is handled here, by python-telegram-bot's typed `Update`:
texts and captions, bot commands (with `/start` deep links from a poster's QR code), button
presses, edits, media, places, contacts, forwards, group and channel posts (answered only
when the bot is addressed), membership changes. Everything else (inline queries, polls,
reactions…) is ignored: acknowledged, never stored.

The inbox's duplicate key is built from the chat and message ids (callback queries from their
own id), not from `update_id`, which Telegram may restart from a random number after a week
without updates.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Optional

from telegram import Bot, Message, Update
from telegram.constants import ChatMemberStatus, ChatType, MessageEntityType

from bot.channels.base import ChannelEvent, Inbound, Location, Media, MembershipChange

CHANNEL = "telegram"
# A deep link t.me/<bot>?start=consult_<slug> opens that consultation's vote.
CONSULTATION_LINK = re.compile(r"^consult_(?P<slug>[a-z0-9_]{1,56})$")
# Commands the bot offers (see `COMMANDS`), as the intent each one stands for.
COMMAND_INTENTS = {
    "start": "greet",
    "menu": "help",
    "help": "help",
    "aide": "help",
    "agent": "human_handoff",
    "langue": "change_language",
    "language": "change_language",
    "abonner": "subscribe",
    "subscribe": "subscribe",
    "stop": "unsubscribe",
}
# The menu shown by Telegram clients next to the input field: (command, catalog key).
COMMANDS = (
    ("start", "command_start"),
    ("menu", "command_menu"),
    ("agent", "command_agent"),
    ("langue", "command_language"),
    ("abonner", "command_subscribe"),
    ("stop", "command_stop"),
)
_GROUP_CHATS = (ChatType.GROUP, ChatType.SUPERGROUP, ChatType.CHANNEL)


@dataclass(frozen=True)
class BotIdentity:
    id: int
    username: str

    @property
    def mention(self) -> str:
        return f"@{self.username}"


def _language_hint(client_language: Optional[str]) -> Optional[str]:
    """The citizen's app language as a reply language: Arabic → Darija in Arabic script."""
    code = (client_language or "").split("-")[0].casefold()
    return {"ar": "ary", "fr": "fr"}.get(code)


def _payload(intent: str, **entities: Any) -> str:
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"


def _command(text: str, me: BotIdentity) -> Optional[tuple[str, str]]:
    """(`command`, argument) when the text is a command meant for this bot."""
    if not text.startswith("/"):
        return None
    head, _, argument = text[1:].partition(" ")
    name, _, addressee = head.partition("@")
    if addressee and addressee.casefold() != me.username.casefold():
        return None
    return name.casefold(), argument.strip()


def _is_addressed(message: Message, me: BotIdentity) -> bool:
    """In a group or channel, the bot answers only a mention, its command or a reply to it."""
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == me.id:
        return True
    for entity, value in message.parse_entities().items():
        if entity.type == MessageEntityType.MENTION and value.casefold() == me.mention.casefold():
            return True
        if entity.type == MessageEntityType.TEXT_MENTION and entity.user and entity.user.id == me.id:
            return True
        if entity.type == MessageEntityType.BOT_COMMAND and value.casefold().endswith(me.mention.casefold()):
            return True
    for entity, value in message.parse_caption_entities().items():
        if entity.type == MessageEntityType.MENTION and value.casefold() == me.mention.casefold():
            return True
    return False


def _without_mention(text: str, me: BotIdentity) -> str:
    return re.sub(re.escape(me.mention), "", text, flags=re.IGNORECASE).strip()


def _media(message: Message) -> Optional[Media]:
    caption = message.caption
    if message.photo:
        largest = max(message.photo, key=lambda size: (size.width * size.height, size.file_size or 0))
        return Media("photo", largest.file_id, "image/jpeg", caption)
    if message.voice:
        return Media("voice", message.voice.file_id, message.voice.mime_type, caption)
    if message.audio:
        return Media("audio", message.audio.file_id, message.audio.mime_type, caption)
    if message.video_note:
        return Media("video", message.video_note.file_id, None, caption)
    if message.video:
        return Media("video", message.video.file_id, message.video.mime_type, caption)
    if message.animation:
        return Media("video", message.animation.file_id, message.animation.mime_type, caption)
    if message.document:
        mime = message.document.mime_type or ""
        # A photo sent "as a file" keeps its full resolution: still a photo of the problem.
        kind = "photo" if mime.startswith("image/") else "document"
        return Media(kind, message.document.file_id, mime or None, caption)
    if message.sticker:
        return Media("sticker", message.sticker.file_id, None, None)
    if message.contact:
        # The card's phone number is somebody's personal data: only its kind is kept.
        return Media("contact", "contact", None, None)
    return None


def _location(message: Message) -> Optional[Location]:
    if message.venue is not None:
        place = message.venue.location
        return Location(place.latitude, place.longitude, message.venue.title)
    if message.location is not None:
        return Location(message.location.latitude, message.location.longitude)
    return None


def _from_message(message: Message, me: BotIdentity, edited: bool) -> Optional[Inbound]:
    chat = message.chat
    in_group = chat.type in _GROUP_CHATS
    if in_group and not _is_addressed(message, me):
        return None
    if message.from_user is not None and message.from_user.id == me.id:
        return None
    key = f"{'e' if edited else 'm'}{chat.id}:{message.message_id}"
    if edited and message.edit_date is not None:
        key += f":{int(message.edit_date.timestamp())}"
    metadata: dict[str, str] = {}
    if message.forward_origin is not None:
        metadata["forwarded"] = "1"
    if edited:
        metadata["edited"] = "1"
    if in_group:
        metadata["group"] = "1"
    language = _language_hint(message.from_user.language_code if message.from_user else None)
    text = message.text
    payload: Optional[str] = None
    if text is not None:
        command = _command(text, me)
        if command is not None:
            name, argument = command
            link = CONSULTATION_LINK.match(argument) if name == "start" else None
            if link:
                payload = _payload("consultation_participate", consultation=link.group("slug"))
                metadata["start"] = argument
            elif name in COMMAND_INTENTS:
                payload = _payload(COMMAND_INTENTS[name])
            # An unknown command is read as words, without the slash and the bot's name.
            text = None if payload else f"{name} {argument}".strip()
        elif in_group:
            text = _without_mention(text, me)
    media = _media(message)
    if media is not None and in_group and media.caption:
        media = Media(media.kind, media.platform_id, media.mime_type, _without_mention(media.caption, me))
    location = _location(message)
    if text is None and payload is None and media is None and location is None:
        # A poll, a dice, a game…: the citizen still gets a reply saying what can be read.
        media = Media("other", "unsupported")
    return Inbound(
        channel=CHANNEL, user_id=str(chat.id), message_id=key, text=text, payload=payload,
        location=location, media=media, language_hint=language, metadata=metadata,
    )


def parse_update(data: dict[str, Any], me: BotIdentity, bot: Optional[Bot] = None) -> Optional[ChannelEvent]:
    """The assistant's event for one update, or None when there is nothing to answer."""
    update = Update.de_json(data, bot)
    if update.callback_query is not None:
        query = update.callback_query
        message = query.message
        if message is None or not query.data:
            return None
        return Inbound(
            channel=CHANNEL, user_id=str(message.chat.id), message_id=f"c{query.id}",
            payload=query.data, language_hint=_language_hint(query.from_user.language_code),
            metadata={"callback_query_id": query.id},
        )
    if update.my_chat_member is not None:
        change = update.my_chat_member
        if change.chat.type != ChatType.PRIVATE:
            return None
        # Unblocking needs no event: the client sends /start, and a subscription needs a new
        # "yes" from the citizen anyway.
        if change.new_chat_member.status == ChatMemberStatus.BANNED:
            return MembershipChange(CHANNEL, str(change.chat.id), blocked=True)
        return None
    if update.message is not None:
        return _from_message(update.message, me, edited=False)
    if update.edited_message is not None:
        return _from_message(update.edited_message, me, edited=True)
    if update.channel_post is not None:
        return _from_message(update.channel_post, me, edited=False)
    # Edited channel posts, inline queries, chosen inline results, polls, reactions, business
    # messages, chat join requests, boosts…: nothing a citizen asked.
    return None
