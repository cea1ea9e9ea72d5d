"""WhatsApp's channel parts without a network: rendering replies within the Cloud API's limits,
reading webhook payloads, classifying Graph API errors, signing webhooks.

Payloads come from `tests.fakes.whatsapp_payloads`, shaped as Meta's reference shows them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Optional

import pytest

from bot.channels.base import Button, DeliveryStatus, Inbound, Location, Media, Reply
from bot.channels.keys import payload_key
from bot.channels.whatsapp import classify, signature
from bot.channels.whatsapp_parse import parse_payload
from bot.channels.whatsapp_render import mark_read, render_reply, template_message
from bot.i18n import t
from tests.fakes import whatsapp_payloads as wp

CITIZEN = wp.DEFAULT_WA_ID
NUMBER = wp.DEFAULT_BUSINESS.phone_number_id
KEY = re.compile(r"^k:[0-9a-f]{24}$")
LONG_TEXT = "Le bureau d'état civil ouvre à 8h30. " * 350  # about 13,000 characters


def buttons(*pairs: tuple[str, str]) -> tuple[Button, ...]:
    return tuple(Button(title=title, payload=payload) for title, payload in pairs)


def numbered_buttons(count: int, title: str = "Service {i}") -> tuple[Button, ...]:
    return tuple(
        Button(title=title.format(i=i), payload=f'/service_info{{"service":"s{i}"}}')
        for i in range(1, count + 1)
    )


def interactive(request: dict[str, Any]) -> dict[str, Any]:
    assert request["params"]["type"] == "interactive"
    body: dict[str, Any] = request["params"]["interactive"]
    return body


def text_body(request: dict[str, Any]) -> str:
    assert request["params"]["type"] == "text"
    body: str = request["params"]["text"]["body"]
    return body


def rows_of(request: dict[str, Any]) -> list[dict[str, str]]:
    body = interactive(request)
    assert body["type"] == "list"
    return [row for section in body["action"]["sections"] for row in section["rows"]]


def parse(payload: dict[str, Any]) -> list[Any]:
    return list(parse_payload(payload, NUMBER))


def parse_one(payload: dict[str, Any]) -> Inbound:
    events = parse(payload)
    assert len(events) == 1, events
    assert isinstance(events[0], Inbound)
    return events[0]


# ---- render_reply: text -------------------------------------------------------------------------
def test_long_text_becomes_several_text_messages_within_4096_characters() -> None:
    requests = render_reply(CITIZEN, Reply(LONG_TEXT), "fr")

    assert len(requests) > 1
    assert all(len(text_body(r)) <= 4096 for r in requests)
    assert " ".join(text_body(r) for r in requests).split() == LONG_TEXT.split()


def test_free_form_messages_are_marked_for_the_service_window() -> None:
    requests = render_reply(CITIZEN, Reply(LONG_TEXT), "fr")

    for request in requests:
        assert request["window"] is True
        assert request["method"] == "messages"
        assert request["params"]["messaging_product"] == "whatsapp"
        assert request["params"]["to"] == CITIZEN
        assert request["params"]["text"]["preview_url"] is False


def test_empty_reply_renders_nothing() -> None:
    assert render_reply(CITIZEN, Reply(" \n "), "fr") == []


# ---- render_reply: reply buttons ----------------------------------------------------------------
def test_up_to_three_short_buttons_are_reply_buttons_carrying_the_payloads() -> None:
    choices = buttons(("Oui", "/affirm"), ("Non", "/deny"), ("Parler à un agent", "/human_handoff"))

    (request,) = render_reply(CITIZEN, Reply("Confirmer la demande ?", buttons=choices), "fr")

    body = interactive(request)
    assert body["type"] == "button"
    assert body["body"] == {"text": "Confirmer la demande ?"}
    assert body["action"]["buttons"] == [
        {"type": "reply", "reply": {"id": "/affirm", "title": "Oui"}},
        {"type": "reply", "reply": {"id": "/deny", "title": "Non"}},
        {"type": "reply", "reply": {"id": "/human_handoff", "title": "Parler à un agent"}},
    ]
    assert request["window"] is True


def test_long_text_before_buttons_goes_first_and_the_last_piece_is_the_body() -> None:
    text = "Pour l'acte de naissance, présentez-vous au guichet. " * 60  # about 3,100 characters

    requests = render_reply(
        CITIZEN, Reply(text, buttons=buttons(("Oui", "/affirm"), ("Non", "/deny"))), "fr"
    )

    *before, last = requests
    assert before, "the text does not fit in one body"
    assert all(r["params"]["type"] == "text" for r in before)
    assert interactive(last)["type"] == "button"
    body = interactive(last)["body"]["text"]
    assert len(body) <= 1024
    assert all(len(text_body(r)) <= 1024 for r in before)
    assert " ".join([*map(text_body, before), body]).split() == text.split()


def test_buttons_without_text_get_a_non_empty_body() -> None:
    (request,) = render_reply(CITIZEN, Reply("", buttons=buttons(("Oui", "/affirm"))), "fr")

    assert interactive(request)["body"]["text"].strip()


def test_reply_button_id_longer_than_256_characters_is_a_key() -> None:
    payload = '/complaint_describe{"description":"' + "x" * 300 + '"}'

    (request,) = render_reply(
        CITIZEN, Reply("Envoyer ?", buttons=buttons(("Envoyer", payload))), "fr"
    )

    reply_id = interactive(request)["action"]["buttons"][0]["reply"]["id"]
    assert KEY.match(reply_id)
    assert request["button_keys"] == {reply_id: payload}


def test_duplicate_titles_are_not_reply_buttons() -> None:
    choices = buttons(("Bureau", '/office{"id":1}'), ("Bureau", '/office{"id":2}'))

    (request,) = render_reply(CITIZEN, Reply("Quel bureau ?", buttons=choices), "fr")

    assert interactive(request)["type"] == "list"
    assert [row["id"] for row in rows_of(request)] == ['/office{"id":1}', '/office{"id":2}']


# ---- render_reply: list -------------------------------------------------------------------------
@pytest.mark.parametrize("count", [4, 7, 10])
def test_four_to_ten_buttons_are_a_list_within_the_limits(count: int) -> None:
    choices = numbered_buttons(count, title="Certificat de résidence n°{i}")

    (request,) = render_reply(CITIZEN, Reply("Choisissez un service", buttons=choices), "fr")

    body = interactive(request)
    assert body["type"] == "list"
    assert body["body"]["text"] == "Choisissez un service"
    assert 0 < len(body["action"]["button"]) <= 20
    assert len(body["action"]["sections"]) == 1
    assert len(body["action"]["sections"][0]["title"]) <= 24
    rows = rows_of(request)
    assert len(rows) == count <= 10
    assert [row["id"] for row in rows] == [b["payload"] for b in choices]
    assert all(len(row["title"]) <= 24 for row in rows)
    assert all(len(row["id"]) <= 200 for row in rows)


def test_list_button_and_section_are_in_the_reply_language() -> None:
    (request,) = render_reply(CITIZEN, Reply("ختار", buttons=numbered_buttons(5)), "ary")

    action = interactive(request)["action"]
    assert action["button"] == t("list_button", "ary")
    assert action["sections"][0]["title"] == t("list_section", "ary")


def test_a_title_too_long_for_a_reply_button_makes_a_list() -> None:
    choices = buttons(
        ("Oui", "/affirm"), ("Je veux parler à un agent de la commune", "/human_handoff")
    )

    (request,) = render_reply(CITIZEN, Reply("Et maintenant ?", buttons=choices), "fr")

    rows = rows_of(request)
    assert rows[0] == {"id": "/affirm", "title": "Oui"}
    assert len(rows[1]["title"]) <= 24
    assert rows[1]["title"].endswith("…")
    assert rows[1]["description"] == "Je veux parler à un agent de la commune"


def test_a_row_description_is_cut_to_72_characters() -> None:
    title = (
        "Demande de certificat de résidence pour un dossier de bourse universitaire à l'étranger"
    )
    assert len(title) > 72

    (request,) = render_reply(
        CITIZEN, Reply("Service ?", buttons=buttons((title, "/a"), ("Autre", "/b"))), "fr"
    )

    description = rows_of(request)[0]["description"]
    assert len(description) <= 72
    assert description.endswith("…")
    assert title.startswith(description[:-1])


def test_short_row_title_has_no_description() -> None:
    (request,) = render_reply(CITIZEN, Reply("Service ?", buttons=numbered_buttons(4)), "fr")

    assert all("description" not in row for row in rows_of(request))


def test_list_row_id_longer_than_200_characters_is_a_key_mapped_back() -> None:
    long_payload = '/complaint_describe{"description":"' + "حفرة كبيرة " * 18 + '"}'
    assert 200 < len(long_payload) <= 256
    choices = buttons(("Signaler", long_payload), *[(f"Service {i}", f"/s{i}") for i in range(4)])

    (request,) = render_reply(CITIZEN, Reply("Choisissez", buttons=choices), "fr")

    rows = rows_of(request)
    assert KEY.match(rows[0]["id"])
    assert rows[0]["id"] == payload_key(long_payload)
    assert request["button_keys"] == {rows[0]["id"]: long_payload}
    assert [row["id"] for row in rows[1:]] == ["/s0", "/s1", "/s2", "/s3"]


# ---- render_reply: numbered menu ----------------------------------------------------------------
@pytest.mark.parametrize("language", ["fr", "ary"])
def test_more_than_ten_buttons_are_a_numbered_text_menu(language: str) -> None:
    choices = numbered_buttons(12)

    requests = render_reply(CITIZEN, Reply("Nos services :", buttons=choices), language)

    text = "\n".join(text_body(r) for r in requests)
    lines = text.splitlines()
    for number, button in enumerate(choices, 1):
        assert f"{number}. {button['title']}" in lines
    assert lines[-1] == t("numbered_hint", language, count=12)
    assert requests[-1]["menu"] == [b["payload"] for b in choices]
    assert all("menu" not in r for r in requests[:-1])


def test_numbered_menu_hints_differ_by_language() -> None:
    french = render_reply(CITIZEN, Reply("Services", buttons=numbered_buttons(11)), "fr")
    darija = render_reply(CITIZEN, Reply("Services", buttons=numbered_buttons(11)), "ary")

    assert text_body(french[-1]).splitlines()[-1] != text_body(darija[-1]).splitlines()[-1]
    assert "11" in text_body(darija[-1]).splitlines()[-1]


def test_numbered_menu_never_shows_a_payload() -> None:
    choices = numbered_buttons(15)

    requests = render_reply(CITIZEN, Reply("Nos services :", buttons=choices), "fr")

    shown = json.dumps([r["params"] for r in requests], ensure_ascii=False)
    for button in choices:
        assert button["payload"] not in shown
    assert "/service_info" not in shown
    assert all(r["window"] is True for r in requests)


def test_numbered_menu_after_a_long_text_stays_within_4096_characters() -> None:
    requests = render_reply(CITIZEN, Reply(LONG_TEXT, buttons=numbered_buttons(11)), "fr")

    assert len(requests) > 1
    assert all(len(text_body(r)) <= 4096 for r in requests)
    assert requests[-1]["menu"][0] == '/service_info{"service":"s1"}'


# ---- render_reply: image ------------------------------------------------------------------------
def test_image_goes_as_an_image_message_with_the_text_as_caption() -> None:
    (request,) = render_reply(
        CITIZEN, Reply("Le plan du quartier", image="https://example.org/plan.png"), "fr"
    )

    assert request["params"]["type"] == "image"
    assert request["params"]["image"] == {
        "link": "https://example.org/plan.png",
        "caption": "Le plan du quartier",
    }
    assert request["window"] is True


def test_text_too_long_for_a_caption_follows_the_image() -> None:
    text = "Le plan du quartier. " * 60  # 1,260 characters

    requests = render_reply(CITIZEN, Reply(text, image="https://example.org/plan.png"), "fr")

    assert [r["params"]["type"] for r in requests] == ["image", "text"]
    assert "caption" not in requests[0]["params"]["image"]
    assert text_body(requests[1]) == text.strip()


# ---- mark_read, template_message ----------------------------------------------------------------
def test_mark_read_is_a_read_status_for_the_citizens_message() -> None:
    assert mark_read("wamid.ABC") == {
        "method": "messages",
        "params": {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.ABC"},
    }


def test_template_message_fills_the_body_parameters_and_ignores_the_window() -> None:
    request = template_message(
        CITIZEN, {"name": "reclamation_suivi", "language": "ar", "parameters": ["R-2027-0042", 3]}
    )

    assert "window" not in request
    assert request["method"] == "messages"
    assert request["params"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CITIZEN,
        "type": "template",
        "template": {
            "name": "reclamation_suivi",
            "language": {"code": "ar"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "R-2027-0042"},
                        {"type": "text", "text": "3"},
                    ],
                }
            ],
        },
    }


def test_template_without_parameters_has_no_components_and_defaults_to_french() -> None:
    request = template_message(CITIZEN, {"name": "hello"})

    assert request["params"]["template"] == {"name": "hello", "language": {"code": "fr"}}
    assert "window" not in request


# ---- parse_payload: messages --------------------------------------------------------------------
def test_text_message_is_an_inbound_from_the_citizen() -> None:
    inbound = parse_one(wp.text("Salam, bghit nsowel 3la l7ala lmadaniya", message_id="wamid.T1"))

    assert inbound == Inbound(
        channel="whatsapp",
        user_id=CITIZEN,
        message_id="wamid.T1",
        text="Salam, bghit nsowel 3la l7ala lmadaniya",
    )


@pytest.mark.parametrize(
    "payload",
    [
        wp.interactive_button_reply('/procedure_documents{"procedure":"cin"}', "CIN"),
        wp.interactive_list_reply(
            '/procedure_documents{"procedure":"cin"}', "Carte d'identité", "CIN électronique"
        ),
    ],
    ids=["button_reply", "list_reply"],
)
def test_interactive_replies_carry_the_id_as_payload(payload: dict[str, Any]) -> None:
    inbound = parse_one(payload)

    assert inbound.payload == '/procedure_documents{"procedure":"cin"}'
    assert inbound.text is None


def test_list_reply_with_a_key_keeps_the_key_for_the_inbox() -> None:
    key = payload_key("/some_long_payload")

    assert parse_one(wp.interactive_list_reply(key, "Signaler")).payload == key


def test_template_quick_reply_with_an_intent_payload_is_a_payload() -> None:
    inbound = parse_one(wp.button("/subscribe", "Oui, m'abonner"))

    assert inbound.payload == "/subscribe"
    assert inbound.text is None


def test_template_quick_reply_without_an_intent_is_the_tapped_text() -> None:
    inbound = parse_one(wp.button("STOP_PROMO", "Arrêter"))

    assert inbound.text == "Arrêter"
    assert inbound.payload is None


def test_location_is_a_location() -> None:
    inbound = parse_one(
        wp.location(32.2359, -7.9538, name="Commune de Benguérir", address="Av. Hassan II")
    )

    assert inbound.location == Location(32.2359, -7.9538, "Commune de Benguérir")


@pytest.mark.parametrize(
    "payload, media",
    [
        (wp.image("img-1", caption="Hfra"), Media("photo", "img-1", "image/jpeg", "Hfra")),
        (wp.audio("aud-1", voice=True), Media("voice", "aud-1", "audio/ogg; codecs=opus")),
        (
            wp.audio("aud-2", voice=False, mime_type="audio/mpeg"),
            Media("audio", "aud-2", "audio/mpeg"),
        ),
        (wp.video("vid-1", caption="Fuite"), Media("video", "vid-1", "video/mp4", "Fuite")),
        (
            wp.document("doc-1", mime_type="image/png", filename="trou.png"),
            Media("photo", "doc-1", "image/png"),
        ),
        (
            wp.document("doc-2", caption="Acte"),
            Media("document", "doc-2", "application/pdf", "Acte"),
        ),
        (wp.sticker("stk-1"), Media("sticker", "stk-1", "image/webp")),
        (wp.unsupported("edit"), Media("other", "unsupported")),
    ],
    ids=[
        "image",
        "voice",
        "audio",
        "video",
        "document-image",
        "document-pdf",
        "sticker",
        "unsupported",
    ],
)
def test_media_messages_are_media(payload: dict[str, Any], media: Media) -> None:
    inbound = parse_one(payload)

    assert inbound.media == media
    assert inbound.text is None


def test_contacts_keep_only_their_kind_never_the_phone_number() -> None:
    card = wp.contact_card(
        "Ahmed Bennani", "+212 699 887766", phone_wa_id="212699887766", email="a@example.org"
    )

    inbound = parse_one(wp.contacts([card]))

    assert inbound.media == Media("contact", "contact")
    assert "699" not in repr(inbound)
    assert "Ahmed" not in repr(inbound)


@pytest.mark.parametrize(
    "payload",
    [
        wp.reaction("wamid.X", "👍"),
        wp.reaction("wamid.X", None),
        wp.system_user_changed_number("212600000001"),
    ],
    ids=["reaction", "reaction-removed", "system"],
)
def test_reactions_and_system_notices_are_nothing_to_answer(payload: dict[str, Any]) -> None:
    assert parse(payload) == []


# ---- parse_payload: statuses --------------------------------------------------------------------
@pytest.mark.parametrize("state", ["sent", "delivered", "read"])
def test_statuses_are_delivery_statuses_at_naive_utc_time(state: str) -> None:
    (event,) = parse(
        wp.status("wamid.OUT1", state, timestamp="1700000000", pricing=wp.pricing_info())
    )

    assert event == DeliveryStatus(
        channel="whatsapp",
        platform_message_id="wamid.OUT1",
        status=state,
        at=dt.datetime(2023, 11, 14, 22, 13, 20),
    )
    assert event.at.tzinfo is None


def test_failed_status_keeps_the_error_code_and_title() -> None:
    error = wp.status_error(
        131047, "Re-engagement message", "Message failed to send because more than 24 hours"
    )

    (event,) = parse(wp.status("wamid.OUT2", "failed", errors=[error], timestamp="1700000000"))

    assert isinstance(event, DeliveryStatus)
    assert event.status == "failed"
    assert event.error_code == 131047
    assert event.error_title == "Re-engagement message"


def test_unknown_status_kind_is_nothing() -> None:
    assert parse(wp.status("wamid.OUT3", "played")) == []


# ---- parse_payload: batches and foreign payloads ------------------------------------------------
def test_batch_returns_every_message_and_status_in_order() -> None:
    payload = wp.batch(
        wp.text("awal", message_id="wamid.A"),
        wp.status("wamid.OUT", "delivered"),
        wp.audio("aud", message_id="wamid.B"),
        wp.status("wamid.OUT", "read"),
    )

    events = parse(payload)

    assert [
        (type(e).__name__, getattr(e, "message_id", None) or getattr(e, "status", None))
        for e in events
    ] == [
        ("Inbound", "wamid.A"),
        ("DeliveryStatus", "delivered"),
        ("Inbound", "wamid.B"),
        ("DeliveryStatus", "read"),
    ]


def test_merged_batch_returns_every_message_then_every_status() -> None:
    payload = wp.batch(
        wp.text("awal", message_id="wamid.A"),
        wp.text("tani", message_id="wamid.B"),
        wp.status("wamid.OUT", "sent"),
        merge_values=True,
    )

    events = parse(payload)

    assert [getattr(e, "message_id", None) for e in events[:2]] == ["wamid.A", "wamid.B"]
    assert isinstance(events[2], DeliveryStatus)
    assert len(events) == 3


def test_payload_for_another_phone_number_is_nothing() -> None:
    other = wp.Business(phone_number_id="999999999999999")

    assert parse(wp.text("salam", business=other)) == []
    assert parse(wp.status("wamid.OUT", "read", business=other)) == []


@pytest.mark.parametrize("field", ["message_template_status_update", "account_update", "statuses"])
def test_changes_of_other_fields_are_nothing(field: str) -> None:
    payload = wp.text("salam")
    payload["entry"][0]["changes"][0]["field"] = field

    assert parse(payload) == []


def _first_message(payload: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    return message


@pytest.mark.parametrize("missing", ["id", "from"])
def test_message_without_id_or_sender_is_skipped(missing: str) -> None:
    payload = wp.batch(wp.text("bla"), wp.text("salam", message_id="wamid.OK"))
    del _first_message(payload)[missing]

    assert [e.message_id for e in parse(payload)] == ["wamid.OK"]


def test_location_without_latitude_does_not_crash() -> None:
    payload = wp.location(32.2, -7.9)
    del _first_message(payload)["location"]["latitude"]

    inbound = parse_one(payload)

    assert inbound.location is None
    assert inbound.media is not None and inbound.media.kind == "other"


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"object": "whatsapp_business_account"},
        {"entry": [{"changes": [{"field": "messages"}]}]},
    ],
    ids=["empty", "no-entry", "no-value"],
)
def test_empty_payloads_are_nothing(payload: dict[str, Any]) -> None:
    assert parse(payload) == []


def test_media_without_id_is_other_media() -> None:
    payload = wp.image("img-1")
    del _first_message(payload)["image"]["id"]

    assert parse_one(payload).media == Media("other", "image")


def test_status_without_id_is_skipped() -> None:
    payload = wp.status("wamid.OUT", "read")
    del payload["entry"][0]["changes"][0]["value"]["statuses"][0]["id"]

    assert parse(payload) == []


# ---- classify -----------------------------------------------------------------------------------
def graph_error(code: int, message: str = "error", details: Optional[str] = None) -> dict[str, Any]:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "Az8or2y",
    }
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": error}


@pytest.mark.parametrize(
    "http_status, code",
    [(400, 130429), (400, 131056), (500, 131000), (503, 131016), (400, 80007), (400, 4)],
)
def test_rate_limits_and_temporary_errors_are_retried(http_status: int, code: int) -> None:
    result = classify(http_status, graph_error(code))

    assert not result.ok
    assert not result.permanent
    assert result.error_code == code


@pytest.mark.parametrize("http_status", [429, 500, 502, 503, 504])
def test_http_overload_and_server_errors_are_retried(http_status: int) -> None:
    result = classify(http_status, {})

    assert not result.permanent
    assert result.error_code == http_status


def test_pair_rate_limit_waits_six_seconds() -> None:
    assert (
        classify(
            400,
            graph_error(
                131056, "(#131056) (Business Account, Consumer Account) pair rate limit hit"
            ),
        ).retry_after
        == 6.0
    )


def test_throughput_limit_without_header_has_no_fixed_delay() -> None:
    assert classify(400, graph_error(130429)).retry_after is None


@pytest.mark.parametrize("code", [131047, 131026, 131051, 100, 131009, 368])
def test_errors_that_cannot_succeed_are_permanent_with_their_code(code: int) -> None:
    result = classify(400, graph_error(code, "Message failed", details="see the reference"))

    assert result.permanent
    assert not result.blocked
    assert result.error_code == code
    assert result.error == "Message failed — see the reference"


@pytest.mark.parametrize(
    "http_status, body", [(401, graph_error(190, "Error validating access token")), (401, {})]
)
def test_a_bad_token_waits_for_the_operator(http_status: int, body: dict[str, Any]) -> None:
    result = classify(http_status, body)

    assert not result.permanent
    assert result.error_code == (190 if body else 401)


def test_retry_after_header_is_honoured() -> None:
    assert classify(429, {}, "17").retry_after == 17.0
    assert classify(400, graph_error(131056), "30").retry_after == 30.0


@pytest.mark.parametrize("http_status, permanent", [(502, False), (400, True)])
def test_non_json_body_is_classified_by_the_http_status(http_status: int, permanent: bool) -> None:
    result = classify(http_status, "<html><body>Bad Gateway</body></html>")

    assert result.permanent is permanent
    assert result.error_code == http_status
    assert result.error == f"HTTP {http_status}"


# ---- signature ----------------------------------------------------------------------------------
def test_signature_matches_metas_header_for_the_raw_body() -> None:
    body = json.dumps(wp.text("سلام، بغيت نسول"), ensure_ascii=False).encode()

    assert signature(body, "app-secret") == wp.sign(body, "app-secret")
    assert signature(body, "app-secret").startswith("sha256=")


def test_signature_changes_with_one_byte_of_the_body() -> None:
    body = json.dumps(wp.text("salam")).encode()
    tampered = body[:-2] + bytes([body[-2] ^ 1]) + body[-1:]

    assert signature(tampered, "app-secret") != signature(body, "app-secret")
    assert signature(body, "other-secret") != signature(body, "app-secret")
