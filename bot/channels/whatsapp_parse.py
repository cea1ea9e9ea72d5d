"""WhatsApp Cloud API webhook payloads as the assistant's events.

One POST may carry several entries, changes, messages and statuses (Meta batches them): all
of them are returned, so all are stored before the webhook is answered. Every message type
of the Cloud API is handled: text; `interactive` button and list replies and the `button`
of a template's quick reply (their ids are the payloads the renderer gave them); location;
image, audio and voice, video, document, sticker; contacts; reactions (ignored: an emoji on
a message asks nothing); `unsupported` and `unknown` (answered with what can be read);
`system` notices (ignored). Statuses (sent, delivered, read, failed) update the outbox.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Iterator, Optional

from bot.channels.base import ChannelEvent, DeliveryStatus, Inbound, Location, Media

logger = logging.getLogger(__name__)

CHANNEL = "whatsapp"
_MEDIA_KINDS = {"image": "photo", "video": "video", "document": "document", "sticker": "sticker"}


def _timestamp(value: Any) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(int(value), tz=dt.timezone.utc).replace(tzinfo=None)
    except (TypeError, ValueError, OverflowError):
        return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _media(kind: str, body: dict[str, Any]) -> Optional[Media]:
    media_id = body.get("id")
    if not media_id:
        return None
    mime = body.get("mime_type")
    caption = body.get("caption")
    if kind == "audio":
        return Media("voice" if body.get("voice") else "audio", media_id, mime, None)
    mapped = _MEDIA_KINDS[kind]
    if kind == "document" and (mime or "").startswith("image/"):
        mapped = "photo"  # a photo sent as a file: full resolution, still a photo
    return Media(mapped, media_id, mime, caption)  # type: ignore[arg-type]


def parse_message(message: dict[str, Any]) -> Optional[Inbound]:
    sender = str(message.get("from") or "")
    message_id = str(message.get("id") or "")
    kind = message.get("type")
    if not sender or not message_id:
        return None
    fields: dict[str, Any] = {}
    if kind == "text":
        fields["text"] = (message.get("text") or {}).get("body", "")
    elif kind == "interactive":
        interactive = message.get("interactive") or {}
        reply = interactive.get(interactive.get("type") or "") or {}
        if reply.get("id"):
            fields["payload"] = str(reply["id"])
        else:  # an interactive kind the assistant never sends (nfm_reply…): its title, if any
            fields["text"] = reply.get("title") or ""
    elif kind == "button":
        button = message.get("button") or {}
        payload = str(button.get("payload") or "")
        if payload.startswith("/"):
            fields["payload"] = payload
        else:  # a template's quick reply without a Rasa payload: what the citizen tapped
            fields["text"] = button.get("text") or payload
    elif kind == "location":
        place = message.get("location") or {}
        try:
            fields["location"] = Location(
                float(place["latitude"]), float(place["longitude"]), place.get("name")
            )
        except (KeyError, TypeError, ValueError):
            fields["media"] = Media("other", "location")
    elif kind in ("image", "video", "document", "sticker", "audio"):
        media = _media(kind, message.get(kind) or {})
        fields["media"] = media or Media("other", kind)
    elif kind == "contacts":
        # Somebody's phone number: personal data, not kept. Only its kind is.
        fields["media"] = Media("contact", "contact")
    elif kind in ("reaction", "system", "ephemeral", "request_welcome"):
        return None
    else:  # unsupported, unknown, order, … : a reply still says what the assistant can read
        errors = message.get("errors") or []
        if errors:
            logger.info("whatsapp message %s unsupported: %s", message_id, errors[0].get("title"))
        fields["media"] = Media("other", str(kind or "unknown"))
    return Inbound(channel=CHANNEL, user_id=sender, message_id=message_id, **fields)


def parse_status(status: dict[str, Any]) -> Optional[DeliveryStatus]:
    wamid = status.get("id")
    state = status.get("status")
    if not wamid or state not in ("sent", "delivered", "read", "failed"):
        return None
    errors = status.get("errors") or []
    first = errors[0] if errors else {}
    code = first.get("code")
    return DeliveryStatus(
        channel=CHANNEL,
        platform_message_id=str(wamid),
        status=state,
        at=_timestamp(status.get("timestamp")),
        error_code=int(code) if isinstance(code, (int, str)) and str(code).isdigit() else None,
        error_title=first.get("title") or first.get("message"),
    )


def _values(payload: dict[str, Any], phone_number_id: str) -> Iterator[dict[str, Any]]:
    for entry in payload.get("entry") or []:
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            if change.get("field") != "messages":
                continue
            number = (value.get("metadata") or {}).get("phone_number_id")
            if number is not None and str(number) != phone_number_id:
                continue  # another number of the same app: not ours to answer
            yield value


def parse_payload(payload: dict[str, Any], phone_number_id: str) -> list[ChannelEvent]:
    events: list[ChannelEvent] = []
    for value in _values(payload, phone_number_id):
        for message in value.get("messages") or []:
            inbound = parse_message(message)
            if inbound is not None:
                events.append(inbound)
        for status in value.get("statuses") or []:
            delivery = parse_status(status)
            if delivery is not None:
                events.append(delivery)
    return events
