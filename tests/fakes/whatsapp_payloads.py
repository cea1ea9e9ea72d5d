"""Webhook payloads exactly as Meta's WhatsApp Cloud API reference shows them.

Every builder returns a whole `messages` webhook (`object: whatsapp_business_account`,
`entry[].changes[]` with `field: "messages"`), so a test can POST it as is; `batch` merges
several into one request, as Meta aggregates notifications. Shapes follow the reference pages
under developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/
messages/ (text, interactive, button, location, image, audio, video, document, sticker,
reaction, contacts, unsupported, system, status): ids are strings, `timestamp` is a string of
epoch seconds, media objects carry `id`, `mime_type`, `sha256` (base64, as the examples show)
and `url`. Pure functions: no I/O, no clock unless a timestamp is omitted.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any, Optional

Payload = dict[str, Any]

DEFAULT_WA_ID = "212612345678"
DEFAULT_NAME = "Citizen"
ERROR_CODES_HREF = "/docs/whatsapp/cloud-api/support/error-codes/"


@dataclass(frozen=True)
class Business:
    """The business side of every webhook: which number the citizen wrote to."""

    phone_number_id: str = "106540352242922"
    display_phone_number: str = "212600000000"
    waba_id: str = "102290129340398"


DEFAULT_BUSINESS = Business()


def sign(body: bytes, app_secret: str) -> str:
    """`X-Hub-Signature-256` value: HMAC-SHA256 of the exact raw body, keyed by the app secret."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def new_wamid() -> str:
    """A unique message id shaped like Meta's (`wamid.` + base64)."""
    return "wamid." + base64.b64encode(b"\x18\x0c" + os.urandom(30)).decode()


def media_sha256(content: bytes) -> str:
    """The `sha256` of a media object in webhooks: base64 of the digest, as the examples show."""
    return base64.b64encode(hashlib.sha256(content).digest()).decode()


def now() -> str:
    return str(int(time.time()))


def _value(business: Business) -> Payload:
    return {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": business.display_phone_number,
            "phone_number_id": business.phone_number_id,
        },
    }


def envelope(value: Payload, business: Business = DEFAULT_BUSINESS) -> Payload:
    """Wrap one change `value` in the `whatsapp_business_account` notification."""
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": business.waba_id, "changes": [{"value": value, "field": "messages"}]}],
    }


def message(
    message_type: str,
    content: Optional[Payload],
    *,
    wa_id: str = DEFAULT_WA_ID,
    name: str = DEFAULT_NAME,
    message_id: Optional[str] = None,
    timestamp: Optional[str] = None,
    context: Optional[Payload] = None,
    extra: Optional[Payload] = None,
    with_contacts: bool = True,
    business: Business = DEFAULT_BUSINESS,
) -> Payload:
    """One incoming message of `message_type`; `content` goes under the key named by the type."""
    msg: Payload = {}
    if context is not None:
        msg["context"] = context
    msg.update(
        {
            "from": wa_id,
            "id": message_id or new_wamid(),
            "timestamp": timestamp or now(),
            "type": message_type,
        }
    )
    if content is not None:
        msg[message_type] = content
    msg.update(extra or {})
    value = _value(business)
    if with_contacts:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": wa_id}]
    value["messages"] = [msg]
    return envelope(value, business)


def _reply_context(context_id: Optional[str], business: Business) -> Payload:
    return {"from": business.display_phone_number, "id": context_id or new_wamid()}


def _media(
    media_id: str, mime_type: str, sha256: Optional[str], url: Optional[str], **fields: Any
) -> Payload:
    obj: Payload = {k: v for k, v in fields.items() if v is not None}
    obj.update(
        {
            "mime_type": mime_type,
            "sha256": sha256 or media_sha256(media_id.encode()),
            "id": media_id,
        }
    )
    if url is not None:
        obj["url"] = url
    return obj


def text(body: str, **common: Any) -> Payload:
    return message("text", {"body": body}, **common)


def interactive_button_reply(
    button_id: str, title: str, *, context_id: Optional[str] = None, **common: Any
) -> Payload:
    """The citizen tapped a reply button; `context` names the message that carried it."""
    business = common.get("business", DEFAULT_BUSINESS)
    content = {"type": "button_reply", "button_reply": {"id": button_id, "title": title}}
    return message(
        "interactive", content, context=_reply_context(context_id, business), **common
    )


def interactive_list_reply(
    row_id: str,
    title: str,
    description: Optional[str] = None,
    *,
    context_id: Optional[str] = None,
    **common: Any,
) -> Payload:
    business = common.get("business", DEFAULT_BUSINESS)
    reply: Payload = {"id": row_id, "title": title}
    if description is not None:
        reply["description"] = description
    content = {"type": "list_reply", "list_reply": reply}
    return message(
        "interactive", content, context=_reply_context(context_id, business), **common
    )


def button(
    payload: str, text: Optional[str] = None, *, context_id: Optional[str] = None, **common: Any
) -> Payload:
    """A quick-reply button of a template message (type `button`, not `interactive`)."""
    business = common.get("business", DEFAULT_BUSINESS)
    content = {"payload": payload, "text": payload if text is None else text}
    return message("button", content, context=_reply_context(context_id, business), **common)


def location(
    latitude: float,
    longitude: float,
    *,
    name: Optional[str] = None,
    address: Optional[str] = None,
    url: Optional[str] = None,
    **common: Any,
) -> Payload:
    content: Payload = {"latitude": latitude, "longitude": longitude}
    for key, value in (("name", name), ("address", address), ("url", url)):
        if value is not None:
            content[key] = value
    return message("location", content, **common)


def image(
    media_id: str,
    *,
    mime_type: str = "image/jpeg",
    sha256: Optional[str] = None,
    caption: Optional[str] = None,
    url: Optional[str] = None,
    **common: Any,
) -> Payload:
    return message("image", _media(media_id, mime_type, sha256, url, caption=caption), **common)


def video(
    media_id: str,
    *,
    mime_type: str = "video/mp4",
    sha256: Optional[str] = None,
    caption: Optional[str] = None,
    url: Optional[str] = None,
    **common: Any,
) -> Payload:
    return message("video", _media(media_id, mime_type, sha256, url, caption=caption), **common)


def audio(
    media_id: str,
    *,
    voice: bool = True,
    mime_type: str = "audio/ogg; codecs=opus",
    sha256: Optional[str] = None,
    url: Optional[str] = None,
    **common: Any,
) -> Payload:
    """`voice` is true for a recorded voice note, false for a shared audio file."""
    content = _media(media_id, mime_type, sha256, url)
    content["voice"] = voice
    return message("audio", content, **common)


def document(
    media_id: str,
    *,
    filename: str = "document.pdf",
    mime_type: str = "application/pdf",
    caption: Optional[str] = None,
    sha256: Optional[str] = None,
    url: Optional[str] = None,
    **common: Any,
) -> Payload:
    content = _media(media_id, mime_type, sha256, url, caption=caption, filename=filename)
    return message("document", content, **common)


def sticker(
    media_id: str,
    *,
    animated: bool = False,
    mime_type: str = "image/webp",
    sha256: Optional[str] = None,
    url: Optional[str] = None,
    **common: Any,
) -> Payload:
    content = _media(media_id, mime_type, sha256, url)
    content["animated"] = animated
    return message("sticker", content, **common)


def reaction(message_id: str, emoji: Optional[str], **common: Any) -> Payload:
    """A reaction to one of the business's messages; `emoji=None` is the removal (no `emoji`)."""
    content: Payload = {"message_id": message_id}
    if emoji is not None:
        content["emoji"] = emoji
    return message("reaction", content, **common)


def contact_card(
    formatted_name: str,
    phone: Optional[str] = None,
    *,
    first_name: Optional[str] = None,
    last_name: Optional[str] = None,
    phone_wa_id: Optional[str] = None,
    phone_type: str = "MOBILE",
    email: Optional[str] = None,
    company: Optional[str] = None,
) -> Payload:
    """One entry of a `contacts` message (many properties may be omitted by the sender)."""
    name: Payload = {"formatted_name": formatted_name}
    if first_name:
        name["first_name"] = first_name
    if last_name:
        name["last_name"] = last_name
    card: Payload = {"name": name}
    if company:
        card["org"] = {"company": company}
    if phone:
        entry: Payload = {"phone": phone, "type": phone_type}
        if phone_wa_id:
            entry["wa_id"] = phone_wa_id
        card["phones"] = [entry]
    if email:
        card["emails"] = [{"email": email, "type": "HOME"}]
    return card


def contacts(cards: list[Payload], **common: Any) -> Payload:
    return message("contacts", None, extra={"contacts": cards}, **common)


def unsupported(unsupported_type: str = "edit", **common: Any) -> Payload:
    """A message type the Cloud API cannot deliver (edits, polls…), with error 131051."""
    errors = [
        {
            "code": 131051,
            "title": "Message type unknown",
            "message": "Message type unknown",
            "error_data": {"details": "Message type is currently not supported."},
        }
    ]
    return message(
        "unsupported", {"type": unsupported_type}, extra={"errors": errors}, **common
    )


def system_user_changed_number(
    new_wa_id: str, *, wa_id: str = DEFAULT_WA_ID, name: str = DEFAULT_NAME, **common: Any
) -> Payload:
    """The citizen changed number. System webhooks carry no `contacts` array."""
    content = {
        "body": f"User {name} changed from {wa_id} to {new_wa_id}",
        "wa_id": new_wa_id,
        "type": "user_changed_number",
    }
    return message("system", content, wa_id=wa_id, name=name, with_contacts=False, **common)


def status_error(
    code: int, title: str, details: Optional[str] = None, *, href: str = ERROR_CODES_HREF
) -> Payload:
    """An entry of `statuses[].errors` (`message` repeats `title`, as the reference says)."""
    error: Payload = {"code": code, "title": title, "message": title}
    if details is not None:
        error["error_data"] = {"details": details}
    error["href"] = href
    return error


def conversation_info(category: str = "service", *, timestamp: Optional[str] = None) -> Payload:
    """`conversation` of a sent status (still sent by v23.0 and lower, so by v21.0)."""
    expires = int(timestamp or now()) + 24 * 3600
    return {
        "id": uuid.uuid4().hex,
        "expiration_timestamp": str(expires),
        "origin": {"type": category},
    }


def pricing_info(category: str = "service", *, free: bool = True) -> Payload:
    """`pricing` of a status: free inside the service window, billed otherwise (PMP model)."""
    return {
        "billable": not free,
        "pricing_model": "PMP",
        "type": "free_customer_service" if free else "regular",
        "category": category,
    }


def status(
    wamid: str,
    status: str,
    recipient_id: str = DEFAULT_WA_ID,
    *,
    errors: Optional[list[Payload]] = None,
    conversation: Optional[Payload] = None,
    pricing: Optional[Payload] = None,
    timestamp: Optional[str] = None,
    biz_opaque_callback_data: Optional[str] = None,
    business: Business = DEFAULT_BUSINESS,
) -> Payload:
    """What happened to a message the business sent: sent, delivered, read, played or failed."""
    entry: Payload = {
        "id": wamid,
        "status": status,
        "timestamp": timestamp or now(),
        "recipient_id": recipient_id,
    }
    if biz_opaque_callback_data is not None:
        entry["biz_opaque_callback_data"] = biz_opaque_callback_data
    if conversation is not None:
        entry["conversation"] = conversation
    if pricing is not None:
        entry["pricing"] = pricing
    if errors:
        entry["errors"] = errors
    value = _value(business)
    value["statuses"] = [entry]
    return envelope(value, business)


def batch(*payloads: Payload, merge_values: bool = False) -> Payload:
    """Several notifications in one request, as Meta aggregates them.

    By default every payload's entries follow one another in `entry`; with `merge_values`
    they become one change whose `contacts`, `messages` and `statuses` arrays are joined
    (parsers must handle both: several entries, and several items in one array).
    """
    if not payloads:
        raise ValueError("batch needs at least one payload")
    if not merge_values:
        entries = [e for p in payloads for e in copy.deepcopy(p["entry"])]
        return {"object": "whatsapp_business_account", "entry": entries}
    merged = copy.deepcopy(payloads[0])
    value = merged["entry"][0]["changes"][0]["value"]
    for payload in payloads[1:]:
        for entry in payload["entry"]:
            for change in entry["changes"]:
                for key in ("contacts", "messages", "statuses"):
                    items = copy.deepcopy(change["value"].get(key, []))
                    if items:
                        value.setdefault(key, []).extend(items)
    return merged


def messages_of(payload: Payload) -> list[Payload]:
    """Every incoming message in a (possibly batched) payload, in order."""
    return [
        msg
        for entry in payload.get("entry", [])
        for change in entry.get("changes", [])
        for msg in change.get("value", {}).get("messages", [])
    ]


def statuses_of(payload: Payload) -> list[Payload]:
    """Every status in a (possibly batched) payload, in order."""
    return [
        st
        for entry in payload.get("entry", [])
        for change in entry.get("changes", [])
        for st in change.get("value", {}).get("statuses", [])
    ]
