"""Builders for the Update objects a Telegram bot receives, shaped as the Bot API reference says.

Why: gateway tests must feed the real gateway the JSON Telegram actually sends (field names
such as `from`, Unix `date` integers, entity offsets in UTF-16 code units), not what we
imagine it sends. Each builder returns a plain dict, ready for `FakeTelegram.queue_update`,
`FakeTelegram.deliver` or `telegram.Update.de_json`.

`update_id` is left out unless given: the fake numbers updates itself (increasing, as Telegram
does), so two builders called with defaults never collide on an id and get confirmed together.
Pass `update_id=` to parse a builder's output directly.

Defaults describe a private chat with a citizen of Benguérir, Morocco, whose Telegram client is
in French.

Builders of updates sent by a person take their own parameters plus these keywords, declared
once as `**common` (any other keyword raises TypeError, as a misspelt parameter would):

- `update_id` (None): the fake numbers the update, see above.
- `message_id` (1; 2 in `group_message`, whose "reply" variant answers the bot's message 1).
- `user_id` (USER_ID), `first_name` (FIRST_NAME), `language_code` (LANGUAGE): the sender, a
  User (`language_code=None` leaves the field out, as Telegram does when the client omits it).
- `chat_id` (None): None is the sender's private chat; a negative id, a group or supergroup.
  `group_message` and `channel_post` take `chat_id` as their own parameter instead, defaulting
  to GROUP_CHAT_ID and CHANNEL_CHAT_ID.
- `date` (None: now; in `edited_message`, 30 seconds ago): Unix seconds.

A builder whose update has no such field does not take the keyword: `callback_query` has no
`date`, `my_chat_member` no `message_id`, `inline_query` none of `message_id`, `chat_id` and
`date`; `channel_post` (no sender) takes only `update_id`, `message_id` and `date`, as its own
parameters, and `poll_state` (no message) only `update_id`.
"""

from __future__ import annotations

import time
from typing import Any, Collection, Literal, Optional, Sequence

JSON = dict[str, Any]

BOT_ID = 123456
BOT_USERNAME = "sawt_test_bot"
BOT_FIRST_NAME = "Sawt"

USER_ID = 700_100_200
FIRST_NAME = "Youssef"
LAST_NAME = "El Amrani"
USERNAME = "youssef_elamrani"
LANGUAGE = "fr"

# Benguérir, the commune this project serves: where locations and venues are by default.
LATITUDE = 32.2359
LONGITUDE = -7.9538
VENUE_TITLE = "Commune de Benguérir"
VENUE_ADDRESS = "Avenue Hassan II, Benguérir"

GROUP_CHAT_ID = -1_001_234_567_890  # supergroup ids start with -100
GROUP_TITLE = "Commune de Benguérir - citoyens"
CHANNEL_CHAT_ID = -1_009_876_543_210
CHANNEL_TITLE = "Commune de Benguérir"
CHANNEL_USERNAME = "commune_benguerir"


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of entity offsets and of Telegram's text limits."""
    return len(text.encode("utf-16-le")) // 2


def now() -> int:
    return int(time.time())


# ---- objects ----------------------------------------------------------------------------------
def user(
    user_id: int = USER_ID,
    *,
    first_name: str = FIRST_NAME,
    last_name: Optional[str] = LAST_NAME,
    username: Optional[str] = USERNAME,
    language_code: Optional[str] = LANGUAGE,
) -> JSON:
    """A User who is a person (optional fields are omitted when None, as Telegram omits them)."""
    data: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
    for key, value in (("last_name", last_name), ("username", username)):
        if value is not None:
            data[key] = value
    if language_code is not None:
        data["language_code"] = language_code
    return data


def bot_user(
    bot_id: int = BOT_ID, *, username: str = BOT_USERNAME, first_name: str = BOT_FIRST_NAME
) -> JSON:
    """The bot as it appears in `from` of its own messages (getMe adds the getMe-only fields)."""
    return {"id": bot_id, "is_bot": True, "first_name": first_name, "username": username}


def private_chat(sender: JSON) -> JSON:
    """A private chat has the user's id and names."""
    chat: JSON = {"id": sender["id"], "type": "private", "first_name": sender["first_name"]}
    for key in ("last_name", "username"):
        if key in sender:
            chat[key] = sender[key]
    return chat


def group_chat(chat_id: int = GROUP_CHAT_ID, *, title: str = GROUP_TITLE) -> JSON:
    """A group (negative id) or supergroup (id starting with -100)."""
    kind = "supergroup" if str(chat_id).startswith("-100") else "group"
    return {"id": chat_id, "type": kind, "title": title}


def channel_chat(
    chat_id: int = CHANNEL_CHAT_ID,
    *,
    title: str = CHANNEL_TITLE,
    username: str = CHANNEL_USERNAME,
) -> JSON:
    return {"id": chat_id, "type": "channel", "title": title, "username": username}


def chat_for(sender: JSON, chat_id: Optional[int]) -> JSON:
    """The chat a person writes in: their private chat unless a (negative) group id is given."""
    if chat_id is None or chat_id == sender["id"]:
        return private_chat(sender)
    if chat_id < 0:
        return group_chat(chat_id)
    return {**private_chat(sender), "id": chat_id}


def entity(kind: str, text: str, fragment: str, **extra: Any) -> JSON:
    """A MessageEntity covering the first `fragment` in `text`, measured in UTF-16 code units."""
    start = text.index(fragment)
    return {
        "type": kind,
        "offset": utf16_len(text[:start]),
        "length": utf16_len(fragment),
        **extra,
    }


def inline_keyboard(*rows: Sequence[tuple[str, str]]) -> JSON:
    """InlineKeyboardMarkup from rows of (text, callback_data)."""
    return {
        "inline_keyboard": [
            [{"text": text, "callback_data": data} for text, data in row] for row in rows
        ]
    }


def bot_message(
    text: str = "Choisissez un service :",
    *,
    chat: Optional[JSON] = None,
    message_id: int = 1,
    reply_markup: Optional[JSON] = None,
    date: Optional[int] = None,
    bot_id: int = BOT_ID,
    bot_username: str = BOT_USERNAME,
) -> JSON:
    """A Message the bot sent earlier (what callback queries and replies point back to)."""
    message: JSON = {
        "message_id": message_id,
        "from": bot_user(bot_id, username=bot_username),
        "chat": chat if chat is not None else private_chat(user()),
        "date": date if date is not None else now() - 60,
        "text": text,
    }
    if reply_markup is not None:
        message["reply_markup"] = reply_markup
    return message


# ---- plumbing shared by the builders ----------------------------------------------------------
COMMON_DEFAULTS: dict[str, Any] = {
    "update_id": None,
    "message_id": 1,
    "user_id": USER_ID,
    "chat_id": None,
    "first_name": FIRST_NAME,
    "language_code": LANGUAGE,
    "date": None,
}


def _common(
    given: dict[str, Any], *, without: Collection[str] = (), **defaults: Any
) -> dict[str, Any]:
    """The common keywords a builder got (see the module docstring), completed with defaults.

    `without` names the keywords this builder does not take, `defaults` overrides a default.
    Raises TypeError on any other keyword, so a misspelt `chat_ld=` fails instead of being
    silently ignored.
    """
    accepted = {key: value for key, value in COMMON_DEFAULTS.items() if key not in without}
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        raise TypeError(
            f"unexpected keyword argument(s) {', '.join(map(repr, unknown))}; besides its own "
            f"parameters this builder takes {', '.join(accepted)}"
        )
    return {**accepted, **defaults, **given}


def _sender(fields: dict[str, Any]) -> JSON:
    return user(
        fields["user_id"], first_name=fields["first_name"], language_code=fields["language_code"]
    )


def _update(kind: str, payload: JSON, update_id: Optional[int]) -> JSON:
    update: JSON = {} if update_id is None else {"update_id": update_id}
    update[kind] = payload
    return update


def _message(
    common: dict[str, Any],
    *,
    chat: Optional[JSON] = None,
    without: Collection[str] = (),
    **defaults: Any,
) -> tuple[JSON, Optional[int]]:
    """The common head of a Message sent by a person (message_id, from, chat, date), and the
    update_id to wrap it with; `chat` replaces the one `chat_id` would give."""
    fields = _common(common, without=without, **defaults)
    sender = _sender(fields)
    if chat is None:
        chat = chat_for(sender, fields["chat_id"])
    message: JSON = {
        "message_id": fields["message_id"],
        "from": sender,
        "chat": chat,
        "date": fields["date"] if fields["date"] is not None else now(),
    }
    return message, fields["update_id"]


def _file(file_id: str, file_unique_id: str, **fields: Any) -> JSON:
    """A file object (Voice, Document, Animation...): its two ids first, then its own fields."""
    return {"file_id": file_id, "file_unique_id": file_unique_id, **fields}


def _with_caption(message: JSON, caption: Optional[str]) -> JSON:
    if caption is not None:
        message["caption"] = caption
    return message


# ---- updates carrying a message ---------------------------------------------------------------
def text_message(
    text: str = "Salam, bghit 3a9d lazdiyad",
    *,
    entities: Optional[list[JSON]] = None,
    **common: Any,
) -> JSON:
    """A plain text message in a private chat."""
    message, update_id = _message(common)
    message["text"] = text
    if entities:
        message["entities"] = entities
    return _update("message", message, update_id)


def command(
    name: str = "start",
    payload: Optional[str] = None,
    *,
    bot_username: Optional[str] = None,
    **common: Any,
) -> JSON:
    """`/name[@bot] [payload]`; a deep link `t.me/bot?start=PAYLOAD` arrives as `/start PAYLOAD`.

    The bot_command entity covers only `/name[@bot]`, never the payload.
    """
    head = f"/{name}" + (f"@{bot_username}" if bot_username else "")
    text = head if payload is None else f"{head} {payload}"
    entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(head)}]
    return text_message(text, entities=entities, **common)


def edited_message(
    text: str = "Salam, bghit 3a9d lazdiyad 3afak",
    *,
    edit_date: Optional[int] = None,
    **common: Any,
) -> JSON:
    """A new version of a message the bot already saw: same message_id, plus edit_date."""
    if common.get("date") is None:
        common["date"] = now() - 30
    message, update_id = _message(common)
    message["text"] = text
    message["edit_date"] = edit_date if edit_date is not None else now()
    return _update("edited_message", message, update_id)


def voice(
    *,
    file_id: str = "AwACAgQAAxkBAAIBVm9pY2UtZmFrZQ",
    file_unique_id: str = "AgADdm9pY2U",
    duration: int = 4,
    file_size: int = 7_168,
    mime_type: str = "audio/ogg",
    **common: Any,
) -> JSON:
    """A voice note (OGG/Opus), the usual way citizens who don't write talk to the bot."""
    message, update_id = _message(common)
    message["voice"] = _file(
        file_id, file_unique_id, duration=duration, mime_type=mime_type, file_size=file_size
    )
    return _update("message", message, update_id)


def photo(
    *,
    caption: Optional[str] = None,
    file_id: str = "AgACAgQAAxkBAAIBcGhvdG8tZmFrZQ",
    sizes: Sequence[tuple[int, int]] = ((90, 68), (320, 240), (1280, 960)),
    **common: Any,
) -> JSON:
    """A photo: one PhotoSize per available size, smallest first, each with its own file_id."""
    message, update_id = _message(common)
    message["photo"] = [
        {
            "file_id": f"{file_id}-{width}x{height}",
            "file_unique_id": f"AQAD{width}x{height}",
            "width": width,
            "height": height,
            "file_size": width * height // 8,
        }
        for width, height in sizes
    ]
    return _update("message", _with_caption(message, caption), update_id)


def document(
    *,
    file_name: str = "acte_de_naissance.pdf",
    mime_type: str = "application/pdf",
    file_id: str = "BQACAgQAAxkBAAIBZG9jLWZha2U",
    file_unique_id: str = "AgADZG9j",
    file_size: int = 48_213,
    caption: Optional[str] = None,
    **common: Any,
) -> JSON:
    message, update_id = _message(common)
    message["document"] = _file(
        file_id, file_unique_id, file_name=file_name, mime_type=mime_type, file_size=file_size
    )
    return _update("message", _with_caption(message, caption), update_id)


def location(latitude: float = LATITUDE, longitude: float = LONGITUDE, **common: Any) -> JSON:
    """A shared location (defaults to Benguérir)."""
    message, update_id = _message(common)
    message["location"] = {"latitude": latitude, "longitude": longitude}
    return _update("message", message, update_id)


def venue(
    *,
    title: str = VENUE_TITLE,
    address: str = VENUE_ADDRESS,
    latitude: float = LATITUDE,
    longitude: float = LONGITUDE,
    **common: Any,
) -> JSON:
    """A venue; the reference says `location` is also set on such messages."""
    message, update_id = _message(common)
    place = {"latitude": latitude, "longitude": longitude}
    message["venue"] = {"location": place, "title": title, "address": address}
    message["location"] = dict(place)
    return _update("message", message, update_id)


def contact(
    *,
    phone_number: str = "+212612345678",
    contact_first_name: str = FIRST_NAME,
    contact_last_name: Optional[str] = LAST_NAME,
    contact_user_id: Optional[int] = None,
    **common: Any,
) -> JSON:
    """A shared contact; by default the sender's own (request_contact), so user_id matches."""
    message, update_id = _message(common)
    shared: JSON = {
        "phone_number": phone_number,
        "first_name": contact_first_name,
        "user_id": contact_user_id if contact_user_id is not None else message["from"]["id"],
    }
    if contact_last_name is not None:
        shared["last_name"] = contact_last_name
    message["contact"] = shared
    return _update("message", message, update_id)


def sticker(
    *,
    emoji: str = "👍",
    file_id: str = "CAACAgIAAxkBAAIBc3RpY2tlci1mYWtl",
    file_unique_id: str = "AgADc3RpY2tlcg",
    set_name: Optional[str] = "SalamStickers",
    **common: Any,
) -> JSON:
    message, update_id = _message(common)
    data = _file(
        file_id,
        file_unique_id,
        type="regular",
        width=512,
        height=512,
        is_animated=False,
        is_video=False,
        emoji=emoji,
        file_size=23_040,
    )
    if set_name is not None:
        data["set_name"] = set_name
    message["sticker"] = data
    return _update("message", message, update_id)


def forwarded_message(
    text: str = "Rendez-vous demain a la commune pour l'acte de naissance",
    *,
    original_user_id: int = 700_300_400,
    original_first_name: str = "Fatima Zahra",
    forward_date: Optional[int] = None,
    legacy_fields: bool = True,
    **common: Any,
) -> JSON:
    """A message forwarded from another person.

    Bot API 7.0 describes the origin as `forward_origin` (MessageOriginUser); older servers and
    clients used `forward_from`/`forward_date`, which `legacy_fields` adds for code that still
    reads them.
    """
    message, update_id = _message(common)
    message["text"] = text
    origin_date = forward_date if forward_date is not None else now() - 3_600
    original = user(
        original_user_id,
        first_name=original_first_name,
        last_name=None,
        username=None,
        language_code=None,
    )
    message["forward_origin"] = {"type": "user", "date": origin_date, "sender_user": original}
    if legacy_fields:
        message["forward_from"] = dict(original)
        message["forward_date"] = origin_date
    return _update("message", message, update_id)


GroupVariant = Literal["plain", "mention", "command", "reply"]


def group_message(
    text: str = "Salam, chkoun kay3ref lwa9t dyal lbaladiya?",
    *,
    variant: GroupVariant = "plain",
    chat_id: int = GROUP_CHAT_ID,
    title: str = GROUP_TITLE,
    bot_username: str = BOT_USERNAME,
    bot_id: int = BOT_ID,
    command_name: str = "help",
    replied_text: str = "Bonjour ! Je suis Sawt, l'assistant de la commune.",
    replied_message_id: int = 1,
    **common: Any,
) -> JSON:
    """A message in a group or supergroup (negative chat id).

    Variants: "plain" (not addressed to the bot), "mention" (`@bot text`, with a `mention`
    entity), "command" (`/help@bot`, a `bot_command` entity covering the whole command), and
    "reply" (a reply to one of the bot's messages, carried in `reply_to_message`).
    """
    chat = group_chat(chat_id, title=title)
    message, update_id = _message(common, chat=chat, without=("chat_id",), message_id=2)
    if variant == "mention":
        handle = f"@{bot_username}"
        message["text"] = f"{handle} {text}"
        message["entities"] = [entity("mention", message["text"], handle)]
    elif variant == "command":
        message["text"] = f"/{command_name}@{bot_username}"
        message["entities"] = [
            {"type": "bot_command", "offset": 0, "length": utf16_len(message["text"])}
        ]
    elif variant == "reply":
        message["text"] = text
        message["reply_to_message"] = bot_message(
            replied_text,
            chat=chat,
            message_id=replied_message_id,
            bot_id=bot_id,
            bot_username=bot_username,
        )
    elif variant == "plain":
        message["text"] = text
    else:
        raise ValueError(f"unknown group message variant {variant!r}")
    return _update("message", message, update_id)


def channel_post(
    text: str = "Avis: les bureaux d'etat civil ouvrent samedi de 9h a 12h.",
    *,
    chat_id: int = CHANNEL_CHAT_ID,
    title: str = CHANNEL_TITLE,
    username: str = CHANNEL_USERNAME,
    update_id: Optional[int] = None,
    message_id: int = 1,
    date: Optional[int] = None,
) -> JSON:
    """A post in a channel where the bot is admin: no `from`, the channel is `sender_chat`."""
    chat = channel_chat(chat_id, title=title, username=username)
    post: JSON = {
        "message_id": message_id,
        "sender_chat": dict(chat),
        "chat": chat,
        "date": date if date is not None else now(),
        "text": text,
    }
    return _update("channel_post", post, update_id)


# ---- updates without a message ----------------------------------------------------------------
def callback_query(
    data: str = "service:etat_civil",
    *,
    query_id: str = "4382bfdwdsb323b2d9",
    chat_instance: str = "-8163587311402346571",
    message_text: str = "Choisissez un service :",
    reply_markup: Optional[JSON] = None,
    bot_id: int = BOT_ID,
    bot_username: str = BOT_USERNAME,
    **common: Any,
) -> JSON:
    """A press on an inline button of the bot's earlier message (which carries the keyboard).

    `message_id` is that of the bot's message; there is no `date` keyword.
    """
    fields = _common(common, without=("date",))
    sender = _sender(fields)
    chat = chat_for(sender, fields["chat_id"])
    markup = (
        reply_markup
        if reply_markup is not None
        else inline_keyboard([("Etat civil", data)], [("Parler a un agent", "agent")])
    )
    query: JSON = {
        "id": query_id,
        "from": sender,
        "message": bot_message(
            message_text,
            chat=chat,
            message_id=fields["message_id"],
            reply_markup=markup,
            bot_id=bot_id,
            bot_username=bot_username,
        ),
        "chat_instance": chat_instance,
        "data": data,
    }
    return _update("callback_query", query, fields["update_id"])


def _chat_member(status: str, member: JSON, until_date: int) -> JSON:
    """A ChatMember of the given status, with the fields the reference requires for it."""
    if status in ("member", "left"):
        return {"status": status, "user": member}
    if status == "kicked":
        return {"status": status, "user": member, "until_date": until_date}
    if status == "administrator":
        rights = (
            "is_anonymous can_manage_chat can_delete_messages can_manage_video_chats "
            "can_restrict_members can_promote_members can_change_info can_invite_users "
            "can_post_stories can_edit_stories can_delete_stories"
        ).split()
        return {
            "status": status,
            "user": member,
            "can_be_edited": False,
            **{right: right != "is_anonymous" for right in rights},
        }
    raise ValueError(f"unsupported chat member status {status!r}")


def my_chat_member(
    *,
    old_status: str = "member",
    new_status: str = "kicked",
    until_date: int = 0,
    bot_id: int = BOT_ID,
    bot_username: str = BOT_USERNAME,
    **common: Any,
) -> JSON:
    """The bot's own membership changed. Default: the user blocked the bot (member -> kicked).

    In private chats Telegram sends this only on block/unblock; pass a negative chat_id with
    left -> member for the bot being added to a group. There is no `message_id` keyword.
    """
    fields = _common(common, without=("message_id",))
    sender = _sender(fields)
    me = bot_user(bot_id, username=bot_username)
    change: JSON = {
        "chat": chat_for(sender, fields["chat_id"]),
        "from": sender,
        "date": fields["date"] if fields["date"] is not None else now(),
        "old_chat_member": _chat_member(old_status, me, until_date),
        "new_chat_member": _chat_member(new_status, me, until_date),
    }
    return _update("my_chat_member", change, fields["update_id"])


def inline_query(
    query: str = "etat civil",
    *,
    query_id: str = "1175398623145784300",
    offset: str = "",
    chat_type: Optional[str] = "sender",
    **common: Any,
) -> JSON:
    """`@bot query` typed in any chat (only if inline mode is enabled with BotFather).

    Of the common keywords it takes only `update_id` and the sender's.
    """
    fields = _common(common, without=("message_id", "chat_id", "date"))
    data: JSON = {
        "id": query_id,
        "from": _sender(fields),
        "query": query,
        "offset": offset,
    }
    if chat_type is not None:
        data["chat_type"] = chat_type
    return _update("inline_query", data, fields["update_id"])


def animation(
    *,
    file_id: str = "CgACAgQAAxkBAAIBYW5pbWF0aW9u",
    file_unique_id: str = "AgADYW5pbQ",
    width: int = 320,
    height: int = 240,
    duration: int = 3,
    file_name: str = "salam.mp4",
    mime_type: str = "video/mp4",
    file_size: int = 120_000,
    **common: Any,
) -> JSON:
    """A GIF (sent as MP4); the reference says `document` is also set for compatibility."""
    message, update_id = _message(common)
    file = {"file_name": file_name, "mime_type": mime_type, "file_size": file_size}
    message["animation"] = _file(
        file_id, file_unique_id, width=width, height=height, duration=duration, **file
    )
    message["document"] = _file(file_id, file_unique_id, **file)
    return _update("message", message, update_id)


def video_note(
    *,
    file_id: str = "DQACAgQAAxkBAAIBdmlkZW9ub3Rl",
    file_unique_id: str = "AgADdm5vdGU",
    length: int = 240,
    duration: int = 6,
    file_size: int = 210_000,
    **common: Any,
) -> JSON:
    """A round video message."""
    message, update_id = _message(common)
    message["video_note"] = _file(
        file_id, file_unique_id, length=length, duration=duration, file_size=file_size
    )
    return _update("message", message, update_id)


def _poll_object(
    poll_id: str, question: str, options: Sequence[str], *, is_closed: bool, votes: Sequence[int]
) -> JSON:
    counts = list(votes) + [0] * (len(options) - len(votes))
    return {
        "id": poll_id,
        "question": question,
        "options": [
            {"persistent_id": str(index), "text": text, "voter_count": count}
            for index, (text, count) in enumerate(zip(options, counts))
        ],
        "total_voter_count": sum(counts),
        "is_closed": is_closed,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": False,
        "allows_revoting": True,
        "members_only": False,
    }


def poll(
    question: str = "Wach lbaladiya katkhdem nhar sebt?",
    options: Sequence[str] = ("Ah", "La", "Ma3reftch"),
    *,
    poll_id: str = "5775019405216890881",
    **common: Any,
) -> JSON:
    """A message carrying a poll a citizen created (the bot gets it as a `message`)."""
    message, update_id = _message(common)
    message["poll"] = _poll_object(poll_id, question, options, is_closed=False, votes=())
    return _update("message", message, update_id)


def poll_state(
    question: str = "Wach lbaladiya katkhdem nhar sebt?",
    options: Sequence[str] = ("Ah", "La", "Ma3reftch"),
    *,
    votes: Sequence[int] = (3, 1, 0),
    is_closed: bool = True,
    poll_id: str = "5775019405216890881",
    update_id: Optional[int] = None,
) -> JSON:
    """An Update.poll: new state of a poll the bot sent or a stopped poll (no message, no user)."""
    return _update(
        "poll",
        _poll_object(poll_id, question, options, is_closed=is_closed, votes=votes),
        update_id,
    )
