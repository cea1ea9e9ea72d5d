"""The assistant's replies as Telegram Bot API requests: text pieces and an inline keyboard.

A reply longer than 4,096 UTF-16 units goes as several messages cut at paragraph or sentence
ends, the keyboard under the last one. A button's payload rides in `callback_data` (64 bytes
at most), or a short key standing for it.
"""
from __future__ import annotations

from typing import Any

from bot.channels.base import Reply
from bot.channels.keys import fit_payload
from bot.channels.text import split_text, utf16_length

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_BYTES = 64
# Short titles side by side (yes / no), long ones one per row so nothing is cut.
PAIR_TITLE_LIMIT = 14


def _keyboard(reply: Reply, keys: dict[str, str]) -> dict[str, Any]:
    buttons = [
        {
            "text": button["title"] or "…",  # never the payload
            "callback_data": fit_payload(button["payload"], CALLBACK_DATA_BYTES, keys),
        }
        for button in reply.buttons
    ]
    if all(len(b["text"]) <= PAIR_TITLE_LIMIT for b in buttons):
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    else:
        rows = [[b] for b in buttons]
    return {"inline_keyboard": rows}


def render_reply(chat_id: str, reply: Reply) -> list[dict[str, Any]]:
    requests: list[dict[str, Any]] = []
    keys: dict[str, str] = {}
    pieces = split_text(reply.text, TEXT_LIMIT, utf16_length) if reply.text.strip() else []
    if reply.image:
        caption = pieces.pop(0) if pieces and utf16_length(pieces[0]) <= CAPTION_LIMIT else None
        params: dict[str, Any] = {"chat_id": chat_id, "photo": reply.image}
        if caption:
            params["caption"] = caption
        requests.append({"method": "sendPhoto", "params": params})
    if reply.buttons and not pieces:
        # A keyboard needs a message to hang on; an image-only reply gets it on the photo.
        if requests:
            requests[-1]["params"]["reply_markup"] = _keyboard(reply, keys)
        else:
            pieces = ["…"]
    for index, piece in enumerate(pieces):
        params = {"chat_id": chat_id, "text": piece}
        if reply.buttons and index == len(pieces) - 1:
            params["reply_markup"] = _keyboard(reply, keys)
        requests.append({"method": "sendMessage", "params": params})
    if keys and requests:
        requests[-1]["button_keys"] = keys
    return requests


def answer_callback(callback_query_id: str) -> dict[str, Any]:
    """Stops the spinner on the button the citizen pressed."""
    return {"method": "answerCallbackQuery", "params": {"callback_query_id": callback_query_id}}
