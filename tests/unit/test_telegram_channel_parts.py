"""Telegram's channel parts without a network: cutting text, rendering replies, reading updates,
classifying Bot API errors.

Updates come from `tests.fakes.telegram_updates` (shaped as the Bot API reference says) and
errors are real `telegram.error` exceptions, so these tests read what Telegram really sends.
"""

from __future__ import annotations

import re
from typing import Any, Optional, cast

import pytest
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.channels.base import (
    Button,
    ChannelEvent,
    Inbound,
    Location,
    Media,
    MembershipChange,
    Reply,
)
from bot.channels.keys import payload_key
from bot.channels.telegram import TelegramTransport, classify
from bot.channels.telegram_parse import BotIdentity, parse_update
from bot.channels.telegram_render import render_reply
from bot.channels.text import split_text, utf16_length
from tests.fakes import telegram_updates as updates

ME = BotIdentity(updates.BOT_ID, updates.BOT_USERNAME)
CHAT = str(updates.USER_ID)
GROUP = str(updates.GROUP_CHAT_ID)
KEY = re.compile(r"^k:[0-9a-f]{24}$")
ARABIC_WITH_EMOJI = "سلام 👋 " * 3000  # 21,000 characters, 24,000 UTF-16 units
LONG_PAYLOAD = (
    '/consultation_participate{"consultation":"budget_participatif_2027_medina","vote_option":"b"}'
)


def parse(update: dict[str, Any]) -> Optional[ChannelEvent]:
    """Parses a builder's update (builders leave `update_id` to the fake: give one here)."""
    return parse_update({"update_id": 10_001, **update}, ME)


def parse_inbound(update: dict[str, Any]) -> Inbound:
    event = parse(update)
    assert isinstance(event, Inbound), event
    return event


def buttons(*pairs: tuple[str, str]) -> tuple[Button, ...]:
    return tuple(Button(title=title, payload=payload) for title, payload in pairs)


def keyboard_of(request: dict[str, Any]) -> list[list[dict[str, str]]]:
    return cast(list[list[dict[str, str]]], request["params"]["reply_markup"]["inline_keyboard"])


# ---- split_text ---------------------------------------------------------------------------------
def test_split_text_keeps_every_piece_within_the_limit_in_utf16_units() -> None:
    pieces = split_text(ARABIC_WITH_EMOJI, 4096, utf16_length)

    assert len(pieces) > 1
    assert all(utf16_length(piece) <= 4096 for piece in pieces)
    # Counting characters instead would let emoji push a piece past Telegram's limit.
    assert any(utf16_length(piece) > 4096 for piece in split_text(ARABIC_WITH_EMOJI, 4096))


def test_split_text_never_cuts_an_emoji_or_a_word() -> None:
    pieces = split_text(ARABIC_WITH_EMOJI, 4096, utf16_length)

    for piece in pieces:
        assert piece == piece.strip()
        assert set(piece.split()) <= {"سلام", "👋"}
    assert " ".join(pieces).split() == ARABIC_WITH_EMOJI.split()


def test_split_text_prefers_a_paragraph_end_to_a_later_line_end() -> None:
    text = "x" * 50 + "\n\n" + "y" * 20 + "\n" + "z" * 50

    assert split_text(text, 100) == ["x" * 50, "y" * 20 + "\n" + "z" * 50]


def test_split_text_cuts_at_a_line_end_when_there_is_no_paragraph_end() -> None:
    text = "ligne un assez longue\nligne deux " + "mot " * 10

    pieces = split_text(text, 40)

    assert pieces[0] == "ligne un assez longue"


@pytest.mark.parametrize(
    "text, first",
    [
        ("Bonjour a tous. Voici une phrase assez longue pour couper", "Bonjour a tous."),
        ("واش كاين شي حل؟ بغيت نعرف فين نمشي باش نخلص الضريبة", "واش كاين شي حل؟"),
        ("Vous avez une question ? Posez-la ici sans attendre trop", "Vous avez une question ?"),
    ],
)
def test_split_text_cuts_at_a_sentence_end(text: str, first: str) -> None:
    pieces = split_text(text, 40)

    assert pieces[0] == first
    assert " ".join(pieces).split() == text.split()


def test_split_text_cuts_between_words_when_there_is_no_sentence_end() -> None:
    text = " ".join(f"mot{i}" for i in range(60))

    pieces = split_text(text, 25)

    assert all(len(piece) <= 25 for piece in pieces)
    assert " ".join(pieces).split() == text.split()  # no word was cut in two


def test_split_text_still_cuts_a_word_longer_than_the_limit() -> None:
    word = "ب" * 25 + "👋" * 10  # 45 UTF-16 units

    pieces = split_text(word, 10, utf16_length)

    assert len(pieces) > 1
    assert all(utf16_length(piece) <= 10 for piece in pieces)
    assert "".join(pieces) == word


def test_split_text_returns_a_short_text_whole_and_stripped() -> None:
    assert split_text("  Salam!  ", 4096, utf16_length) == ["Salam!"]


@pytest.mark.parametrize("text", ["", "   ", "\n\n \t\n"])
def test_split_text_of_empty_or_blank_text_is_no_piece(text: str) -> None:
    assert split_text(text, 4096, utf16_length) == []


# ---- render_reply -------------------------------------------------------------------------------
def test_long_reply_becomes_several_messages_within_4096_utf16_units() -> None:
    reply = Reply(ARABIC_WITH_EMOJI, buttons=buttons(("Oui", "/affirm"), ("Non", "/deny")))

    requests = render_reply(CHAT, reply)

    assert len(requests) > 1
    assert all(r["method"] == "sendMessage" for r in requests)
    assert all(r["params"]["chat_id"] == CHAT for r in requests)
    assert all(utf16_length(r["params"]["text"]) <= 4096 for r in requests)
    assert " ".join(r["params"]["text"] for r in requests).split() == ARABIC_WITH_EMOJI.split()


def test_keyboard_hangs_only_under_the_last_piece() -> None:
    reply = Reply(ARABIC_WITH_EMOJI, buttons=buttons(("Oui", "/affirm"), ("Non", "/deny")))

    requests = render_reply(CHAT, reply)

    assert ["reply_markup" in r["params"] for r in requests] == [False] * (len(requests) - 1) + [
        True
    ]


def test_short_button_titles_are_paired_two_per_row() -> None:
    reply = Reply(
        "Confirmer ?",
        buttons=buttons(
            ("Oui", "/affirm"),
            ("Non", "/deny"),
            ("Menu", "/help"),
            ("Agent", "/human_handoff"),
            ("Stop", "/unsubscribe"),
        ),
    )

    (request,) = render_reply(CHAT, reply)

    assert keyboard_of(request) == [
        [{"text": "Oui", "callback_data": "/affirm"}, {"text": "Non", "callback_data": "/deny"}],
        [
            {"text": "Menu", "callback_data": "/help"},
            {"text": "Agent", "callback_data": "/human_handoff"},
        ],
        [{"text": "Stop", "callback_data": "/unsubscribe"}],
    ]


def test_long_button_titles_go_one_per_row() -> None:
    reply = Reply(
        "Quel service ?",
        buttons=buttons(
            ("État civil", "/service_civil"),
            ("Certificat de résidence", "/service_residence"),
            ("Urbanisme", "/service_urbanisme"),
        ),
    )

    (request,) = render_reply(CHAT, reply)

    rows = keyboard_of(request)
    assert [len(row) for row in rows] == [1, 1, 1]
    assert [row[0]["text"] for row in rows] == [
        "État civil",
        "Certificat de résidence",
        "Urbanisme",
    ]


def test_payload_over_64_bytes_travels_as_a_key_mapped_back_to_it() -> None:
    assert len(LONG_PAYLOAD.encode()) > 64
    reply = Reply("Votez", buttons=buttons(("Option B", LONG_PAYLOAD), ("Retour", "/help")))

    requests = render_reply(CHAT, reply)

    data = [b["callback_data"] for row in keyboard_of(requests[-1]) for b in row]
    assert KEY.match(data[0])
    assert data[1] == "/help"
    assert requests[-1]["button_keys"] == {data[0]: LONG_PAYLOAD}
    assert all(len(d.encode()) <= 64 for d in data)


def test_payload_is_measured_in_bytes_not_characters() -> None:
    payload = '/report{"place":"' + "حي" * 15 + '"}'  # 49 characters, 79 bytes
    assert len(payload) <= 64 < len(payload.encode())

    (request,) = render_reply(CHAT, Reply("Merci", buttons=buttons(("Signaler", payload))))

    key = keyboard_of(request)[0][0]["callback_data"]
    assert KEY.match(key)
    assert request["button_keys"] == {key: payload}


def test_payloads_of_at_most_64_bytes_are_sent_as_they_are() -> None:
    payload = '/procedure_documents{"procedure":"birth_certificate"}'
    assert len(payload.encode()) <= 64

    (request,) = render_reply(CHAT, Reply("Documents", buttons=buttons(("Acte", payload))))

    assert keyboard_of(request)[0][0]["callback_data"] == payload
    assert "button_keys" not in request


def test_same_payload_always_gets_the_same_key() -> None:
    other = LONG_PAYLOAD.replace('"b"', '"c"')
    first = render_reply(CHAT, Reply("Votez", buttons=buttons(("B", LONG_PAYLOAD))))
    again = render_reply(
        "42", Reply("Autre texte", buttons=buttons(("B", LONG_PAYLOAD), ("C", other)))
    )

    key = keyboard_of(first[-1])[0][0]["callback_data"]
    keys_again = [b["callback_data"] for row in keyboard_of(again[-1]) for b in row]
    assert key == keys_again[0] == payload_key(LONG_PAYLOAD)
    assert keys_again[1] != key


def test_image_goes_as_a_photo_with_the_text_as_caption() -> None:
    (request,) = render_reply(
        CHAT, Reply("Le bureau d'état civil", image="https://example.org/bureau.jpg")
    )

    assert request == {
        "method": "sendPhoto",
        "params": {
            "chat_id": CHAT,
            "photo": "https://example.org/bureau.jpg",
            "caption": "Le bureau d'état civil",
        },
    }


def test_text_too_long_for_a_caption_follows_the_photo() -> None:
    text = "Horaires du bureau. " * 80  # 1,600 characters
    requests = render_reply(CHAT, Reply(text, image="https://example.org/bureau.jpg"))

    assert [r["method"] for r in requests] == ["sendPhoto", "sendMessage"]
    assert "caption" not in requests[0]["params"]
    assert requests[1]["params"]["text"] == text.strip()


def test_buttons_without_text_still_render_a_message_with_the_keyboard() -> None:
    (request,) = render_reply(CHAT, Reply("", buttons=buttons(("Oui", "/affirm"))))

    assert request["method"] == "sendMessage"
    assert request["params"]["text"].strip()
    assert keyboard_of(request) == [[{"text": "Oui", "callback_data": "/affirm"}]]


def test_empty_reply_renders_nothing() -> None:
    assert render_reply(CHAT, Reply("  ")) == []


# ---- parse_update: private chats ----------------------------------------------------------------
def test_private_text_is_an_inbound_keyed_by_chat_and_message() -> None:
    event = parse(updates.text_message("Salam, bghit 3a9d lazdiyad", message_id=17))

    assert event == Inbound(
        channel="telegram",
        user_id=CHAT,
        message_id=f"m{CHAT}:17",
        text="Salam, bghit 3a9d lazdiyad",
        language_hint="fr",
    )


def test_start_deep_link_opens_the_consultation() -> None:
    inbound = parse_inbound(updates.command("start", "consult_budget_participatif_2027_medina"))

    assert (
        inbound.payload
        == '/consultation_participate{"consultation":"budget_participatif_2027_medina"}'
    )
    assert inbound.text is None


@pytest.mark.parametrize(
    "name, payload",
    [("start", "/greet"), ("menu", "/help"), ("stop", "/unsubscribe"), ("agent", "/human_handoff")],
)
def test_commands_become_their_intents(name: str, payload: str) -> None:
    inbound = parse_inbound(updates.command(name))

    assert inbound.payload == payload
    assert inbound.text is None


def test_command_addressed_to_this_bot_by_name_is_understood() -> None:
    inbound = parse_inbound(updates.command("menu", bot_username=updates.BOT_USERNAME))

    assert inbound.payload == "/help"


def test_unknown_command_is_read_as_text_without_the_slash() -> None:
    inbound = parse_inbound(updates.command("foo", "bar"))

    assert inbound.text == "foo bar"
    assert inbound.payload is None


def test_edited_message_has_its_own_key_and_says_it_was_edited() -> None:
    original = parse_inbound(updates.text_message(message_id=5))
    edited = parse_inbound(updates.edited_message("Salam, 3afak", message_id=5))

    assert edited.message_id.startswith("e")
    assert edited.message_id != original.message_id
    assert edited.metadata["edited"] == "1"
    assert edited.text == "Salam, 3afak"


def test_two_edits_of_one_message_are_not_duplicates() -> None:
    first = parse_inbound(updates.edited_message(message_id=5, edit_date=1_700_000_000))
    second = parse_inbound(updates.edited_message(message_id=5, edit_date=1_700_000_060))

    assert first.message_id != second.message_id


def test_button_press_carries_the_callback_data_as_payload() -> None:
    inbound = parse_inbound(
        updates.callback_query('/procedure_documents{"procedure":"cin"}', query_id="q-77")
    )

    assert inbound.user_id == CHAT
    assert inbound.payload == '/procedure_documents{"procedure":"cin"}'
    assert inbound.metadata["callback_query_id"] == "q-77"
    assert inbound.message_id == "cq-77"


def test_voice_note_is_voice_media() -> None:
    inbound = parse_inbound(updates.voice(file_id="voice-1"))

    assert inbound.media == Media("voice", "voice-1", "audio/ogg", None)


def test_photo_keeps_the_largest_size_and_the_caption() -> None:
    inbound = parse_inbound(
        updates.photo(
            caption="Hfra f zanqa", file_id="ph", sizes=((320, 240), (1280, 960), (90, 68))
        )
    )

    assert inbound.media is not None
    assert inbound.media.kind == "photo"
    assert inbound.media.platform_id == "ph-1280x960"
    assert inbound.media.caption == "Hfra f zanqa"


@pytest.mark.parametrize(
    "mime_type, file_name, kind",
    [
        ("image/png", "trou.png", "photo"),
        ("image/jpeg", "trou.jpg", "photo"),
        ("application/pdf", "acte.pdf", "document"),
    ],
)
def test_document_is_a_photo_when_it_is_an_image(mime_type: str, file_name: str, kind: str) -> None:
    inbound = parse_inbound(
        updates.document(mime_type=mime_type, file_name=file_name, file_id="doc-1")
    )

    assert inbound.media == Media(kind, "doc-1", mime_type, None)  # type: ignore[arg-type]


def test_sticker_is_sticker_media() -> None:
    inbound = parse_inbound(updates.sticker(file_id="st-1"))

    assert inbound.media == Media("sticker", "st-1")


def test_contact_keeps_only_its_kind_never_the_phone_number() -> None:
    inbound = parse_inbound(updates.contact(phone_number="+212699887766", contact_user_id=555))

    assert inbound.media == Media("contact", "contact")
    assert "699887766" not in repr(inbound)
    assert inbound.text is None


def test_location_is_a_location() -> None:
    inbound = parse_inbound(updates.location(32.2359, -7.9538))

    assert inbound.location == Location(32.2359, -7.9538)
    assert inbound.media is None


def test_venue_is_a_location_named_after_the_place() -> None:
    inbound = parse_inbound(
        updates.venue(title="Commune de Benguérir", latitude=32.2359, longitude=-7.9538)
    )

    assert inbound.location == Location(32.2359, -7.9538, "Commune de Benguérir")


def test_forwarded_message_is_marked_forwarded() -> None:
    inbound = parse_inbound(updates.forwarded_message("Rendez-vous demain"))

    assert inbound.metadata["forwarded"] == "1"
    assert inbound.text == "Rendez-vous demain"


def test_poll_in_a_private_chat_is_media_the_assistant_cannot_read() -> None:
    inbound = parse_inbound(updates.poll())

    assert inbound.media is not None
    assert inbound.media.kind == "other"


def test_message_from_the_bot_itself_is_ignored() -> None:
    assert parse({"message": updates.bot_message("Bonjour !")}) is None


# ---- parse_update: groups and channels ----------------------------------------------------------
def test_group_message_not_addressed_to_the_bot_is_ignored() -> None:
    assert parse(updates.group_message(variant="plain")) is None


def test_group_mention_is_answered_without_the_mention() -> None:
    inbound = parse_inbound(updates.group_message("Fin kayn lbaladiya?", variant="mention"))

    assert inbound.user_id == GROUP
    assert inbound.text == "Fin kayn lbaladiya?"
    assert "@" not in (inbound.text or "")
    assert inbound.metadata["group"] == "1"


def test_group_mention_in_another_case_is_still_removed() -> None:
    update = updates.group_message(
        "Fin kayn lbaladiya?", variant="mention", bot_username="Sawt_Test_Bot"
    )

    assert parse_inbound(update).text == "Fin kayn lbaladiya?"


def test_group_command_for_this_bot_is_its_intent() -> None:
    inbound = parse_inbound(updates.group_message(variant="command", command_name="menu"))

    assert inbound.payload == "/help"
    assert inbound.user_id == GROUP


def test_group_reply_to_the_bot_is_answered() -> None:
    inbound = parse_inbound(updates.group_message("Chokran, wach 7all nhar sebt?", variant="reply"))

    assert inbound.text == "Chokran, wach 7all nhar sebt?"


def test_group_reply_to_someone_else_is_ignored() -> None:
    update = updates.group_message(variant="reply", bot_id=999, bot_username="other_bot")

    assert parse(update) is None


def test_command_for_another_bot_in_a_group_is_ignored() -> None:
    update = updates.group_message(variant="command", command_name="help", bot_username="other_bot")

    assert parse(update) is None


def test_unknown_group_command_for_this_bot_is_text_without_the_mention() -> None:
    inbound = parse_inbound(updates.group_message(variant="command", command_name="foo"))

    assert inbound.text == "foo"


def test_channel_post_without_a_mention_is_ignored() -> None:
    assert parse(updates.channel_post()) is None


def test_channel_post_mentioning_the_bot_is_answered_in_the_channel() -> None:
    text = f"@{updates.BOT_USERNAME} wach kayn jdid?"
    post = updates.channel_post(text)
    post["channel_post"]["entities"] = [updates.entity("mention", text, f"@{updates.BOT_USERNAME}")]

    inbound = parse_inbound(post)

    assert inbound.user_id == str(updates.CHANNEL_CHAT_ID)
    assert inbound.text == "wach kayn jdid?"


# ---- parse_update: membership and ignored kinds -------------------------------------------------
def test_blocking_the_bot_in_private_is_a_membership_change() -> None:
    event = parse(updates.my_chat_member(old_status="member", new_status="kicked"))

    assert event == MembershipChange("telegram", CHAT, blocked=True)


def test_unblocking_the_bot_needs_no_event() -> None:
    assert parse(updates.my_chat_member(old_status="kicked", new_status="member")) is None


@pytest.mark.parametrize("old, new", [("left", "member"), ("member", "kicked")])
def test_membership_changes_in_groups_are_ignored(old: str, new: str) -> None:
    assert (
        parse(updates.my_chat_member(old_status=old, new_status=new, chat_id=updates.GROUP_CHAT_ID))
        is None
    )


@pytest.mark.parametrize(
    "update",
    [updates.inline_query(), updates.poll_state()],
    ids=["inline_query", "poll"],
)
def test_updates_no_citizen_asked_are_ignored(update: dict[str, Any]) -> None:
    assert parse(update) is None


# ---- classify -----------------------------------------------------------------------------------
def test_flood_control_is_retried_after_the_given_delay() -> None:
    result = classify(RetryAfter(5))

    assert result.retry_after == 5.0
    assert not result.permanent
    assert not result.blocked
    assert not result.ok


def test_blocked_chat_is_permanent_and_unsubscribes() -> None:
    result = classify(Forbidden("Forbidden: bot was blocked by the user"))

    assert result.permanent
    assert result.blocked
    assert result.error_code == 403


@pytest.mark.parametrize(
    "error",
    [BadRequest("Bad Request: chat not found"), ChatMigrated(-1_001_234_567_890)],
    ids=["BadRequest", "ChatMigrated"],
)
def test_refused_requests_are_permanent_without_unsubscribing(error: TelegramError) -> None:
    result = classify(error)

    assert result.permanent
    assert not result.blocked
    assert result.error_code == 400


@pytest.mark.parametrize(
    "error", [NetworkError("Bad Gateway"), TimedOut()], ids=["NetworkError", "TimedOut"]
)
def test_network_failures_are_retried(error: TelegramError) -> None:
    result = classify(error)

    assert not result.ok
    assert not result.permanent
    assert not result.blocked


def test_invalid_token_waits_for_the_operator_instead_of_giving_up() -> None:
    result = classify(InvalidToken())

    assert not result.permanent
    assert not result.blocked
    assert result.error_code == 401


# ---- TelegramTransport --------------------------------------------------------------------------
@pytest.fixture
def transport() -> TelegramTransport:
    return TelegramTransport(cast(Bot, object()))  # render and acknowledgements never call the bot


def test_button_press_is_acknowledged_with_answer_callback_query(
    transport: TelegramTransport,
) -> None:
    inbound = parse_inbound(updates.callback_query("/affirm", query_id="q-1"))

    assert transport.acknowledgements(inbound) == [
        {"method": "answerCallbackQuery", "params": {"callback_query_id": "q-1"}}
    ]


@pytest.mark.parametrize(
    "update",
    [updates.text_message(), updates.voice(), updates.command("start")],
    ids=["text", "voice", "command"],
)
def test_messages_need_no_acknowledgement(
    transport: TelegramTransport, update: dict[str, Any]
) -> None:
    assert transport.acknowledgements(parse_inbound(update)) == []


def test_transport_renders_like_render_reply(transport: TelegramTransport) -> None:
    reply = Reply("Oui ou non ?", buttons=buttons(("Oui", "/affirm"), ("Non", "/deny")))

    assert transport.render(CHAT, reply, "ary") == render_reply(CHAT, reply)
