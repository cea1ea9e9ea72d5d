"""Short stand-ins for button payloads a platform cannot carry whole.

Telegram's `callback_data` holds 64 bytes and WhatsApp's list-row ids 200 characters, but a
Rasa payload such as `/consultation_participate{"consultation": "...", "vote_option": "..."}`
can be longer. Such a payload travels as `k:<digest>`; the digest and the payload are stored
with the reply's outbox rows (one transaction), and the inbox turns the key back into the
payload when the button is pressed — also after a restart, and on another replica.
"""
from __future__ import annotations

import hashlib

KEY_PREFIX = "k:"


def payload_key(payload: str) -> str:
    """The same payload always gets the same 26-character key."""
    return KEY_PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def is_payload_key(value: str) -> bool:
    return value.startswith(KEY_PREFIX) and len(value) == len(KEY_PREFIX) + 24


def fit_payload(payload: str, max_bytes: int, keys: dict[str, str]) -> str:
    """The payload itself when it fits, else its key (recorded in `keys` for storing)."""
    if len(payload.encode("utf-8")) <= max_bytes and not payload.startswith(KEY_PREFIX):
        return payload
    key = payload_key(payload)
    keys[key] = payload
    return key
