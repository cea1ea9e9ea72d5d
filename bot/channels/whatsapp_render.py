"""The assistant's replies as WhatsApp Cloud API messages: text, reply buttons, a list, or numbers.

Up to three buttons whose titles fit in 20 characters become reply buttons; up to ten become
a list (row titles cut to 24 characters, the full title kept as the row's description); more
than ten become numbered text, and the inbox remembers the payloads so "2" means the second
one. A payload is never shown as text. Text is split at 4,096 characters, and an interactive
message's body at 1,024 (the pieces before it go as plain text).
"""
from __future__ import annotations

from typing import Any

from bot.channels.base import Button, Reply
from bot.channels.keys import fit_payload
from bot.channels.text import shorten, split_text
from bot.i18n import t

TEXT_LIMIT = 4096
BODY_LIMIT = 1024
CAPTION_LIMIT = 1024
REPLY_BUTTONS = 3
BUTTON_TITLE = 20
BUTTON_ID = 256
LIST_ROWS = 10
ROW_TITLE = 24
ROW_DESCRIPTION = 72
ROW_ID = 200
LIST_BUTTON = 20
SECTION_TITLE = 24


def _message(to: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    params = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind, kind: body}
    return {"method": "messages", "params": params, "window": True}


def _text(to: str, text: str) -> dict[str, Any]:
    return _message(to, "text", {"body": text, "preview_url": False})


def _reply_buttons(to: str, body: str, buttons: tuple[Button, ...], keys: dict[str, str]) -> dict[str, Any]:
    return _message(to, "interactive", {
        "type": "button",
        "body": {"text": body},
        "action": {"buttons": [
            {"type": "reply", "reply": {
                "id": fit_payload(b["payload"], BUTTON_ID, keys), "title": b["title"],
            }}
            for b in buttons
        ]},
    })


def _list(to: str, body: str, buttons: tuple[Button, ...], language: str, keys: dict[str, str]) -> dict[str, Any]:
    rows = []
    for button in buttons:
        row: dict[str, Any] = {
            "id": fit_payload(button["payload"], ROW_ID, keys),
            "title": shorten(button["title"], ROW_TITLE) or "…",
        }
        if row["title"] != button["title"]:
            row["description"] = shorten(button["title"], ROW_DESCRIPTION)
        rows.append(row)
    return _message(to, "interactive", {
        "type": "list",
        "body": {"text": body},
        "action": {
            "button": shorten(t("list_button", language), LIST_BUTTON),
            "sections": [{"title": shorten(t("list_section", language), SECTION_TITLE), "rows": rows}],
        },
    })


def _fits_reply_buttons(buttons: tuple[Button, ...]) -> bool:
    titles = [b["title"] for b in buttons]
    return (
        len(buttons) <= REPLY_BUTTONS
        and all(0 < len(title) <= BUTTON_TITLE for title in titles)
        and len(set(titles)) == len(titles)
    )


def _numbered(text: str, buttons: tuple[Button, ...], language: str) -> str:
    lines = [f"{i}. {b['title']}" for i, b in enumerate(buttons, 1)]
    return "\n".join([text, "", *lines, "", t("numbered_hint", language, count=len(buttons))]).strip()


def render_reply(to: str, reply: Reply, language: str) -> list[dict[str, Any]]:
    requests: list[dict[str, Any]] = []
    keys: dict[str, str] = {}
    text = reply.text.strip()
    if reply.image:
        caption = text if len(text) <= CAPTION_LIMIT else ""
        image: dict[str, Any] = {"link": reply.image}
        if caption:
            image["caption"] = caption
            text = ""
        requests.append(_message(to, "image", image))
    buttons = reply.buttons
    if buttons and len(buttons) <= LIST_ROWS:
        pieces = split_text(text, BODY_LIMIT) if text else ["…"]
        requests.extend(_text(to, piece) for piece in pieces[:-1])
        if _fits_reply_buttons(buttons):
            requests.append(_reply_buttons(to, pieces[-1], buttons, keys))
        else:
            requests.append(_list(to, pieces[-1], buttons, language, keys))
    elif buttons:
        pieces = split_text(_numbered(text, buttons, language), TEXT_LIMIT)
        requests.extend(_text(to, piece) for piece in pieces)
        requests[-1]["menu"] = [b["payload"] for b in buttons]
    elif text:
        requests.extend(_text(to, piece) for piece in split_text(text, TEXT_LIMIT))
    if keys:
        requests[-1]["button_keys"] = keys
    return requests


def mark_read(message_id: str) -> dict[str, Any]:
    """Blue ticks for the citizen's message: they see it reached the commune."""
    return {"method": "messages", "params": {
        "messaging_product": "whatsapp", "status": "read", "message_id": message_id,
    }}


def template_message(to: str, template: dict[str, Any]) -> dict[str, Any]:
    """An approved template (the only thing allowed outside the 24-hour window)."""
    body: dict[str, Any] = {
        "name": template["name"],
        "language": {"code": template.get("language", "fr")},
    }
    parameters = template.get("parameters") or []
    if parameters:
        body["components"] = [{
            "type": "body",
            "parameters": [{"type": "text", "text": str(p)} for p in parameters],
        }]
    request = _message(to, "template", body)
    request.pop("window")
    return request
