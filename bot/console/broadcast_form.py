"""The broadcast form of the console: read and check what the agent typed, show it back.

The same reading serves every step (preview, confirmation, creation), so what the agent
confirmed is exactly what is created. Times are typed and shown in the commune's time zone
(Africa/Casablanca, whose offset moves around Ramadan) and stored in UTC, as every time in the
database is.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from bot.broadcast.engine import BroadcastError, TEXT_LIMIT, validate_template, validate_text
from bot.channels.text import utf16_length
from bot.i18n import DARIJA, DEFAULT_LANGUAGE, LANGUAGES

logger = logging.getLogger(__name__)

AUDIENCE_FIELDS = ("channels", "languages", "districts", "topics")
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
# A schedule a little in the past (the agent took a minute to confirm) means "now".
SCHEDULE_GRACE = dt.timedelta(minutes=5)


def _commune_zone() -> dt.tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("Africa/Casablanca")
    except Exception:  # no tz database on this system: Morocco's usual offset
        logger.warning("time zone Africa/Casablanca unknown: using UTC+1")
        return dt.timezone(dt.timedelta(hours=1), "UTC+1")


COMMUNE_ZONE = _commune_zone()


def local_time(value: Optional[dt.datetime]) -> str:
    """A stored UTC time as the commune reads it, e.g. "2025-06-01 14:30"."""
    if value is None:
        return ""
    return value.replace(tzinfo=dt.timezone.utc).astimezone(COMMUNE_ZONE).strftime("%Y-%m-%d %H:%M")


def parse_local(value: str) -> dt.datetime:
    """A `datetime-local` value in the commune's time → naive UTC (raises ValueError)."""
    local = dt.datetime.strptime(value.strip()[:16], LOCAL_FORMAT).replace(tzinfo=COMMUNE_ZONE)
    return local.astimezone(dt.timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class Choices:
    """What the audience checkboxes may hold (anything else is a tampered form)."""

    channels: Sequence[str]
    languages: Sequence[str]
    districts: Sequence[str]
    topics: Sequence[str]

    def allowed(self, name: str) -> Sequence[str]:
        return getattr(self, name)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Preview:
    """What the citizens of one language will read, and which text it comes from."""

    language: str
    text: str
    source: Optional[str]
    direction: str
    length: int


@dataclass
class Draft:
    texts: dict[str, str]
    audience: dict[str, list[str]]
    template_name: str = ""
    template_language: str = ""
    template_parameters: str = ""
    schedule: str = ""
    # (console text key, parameters) of each problem found
    errors: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    text: dict[str, str] = field(default_factory=dict)
    template: Optional[dict[str, Any]] = None
    scheduled_at: Optional[dt.datetime] = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def hidden_fields(self) -> list[tuple[str, str]]:
        """The draft as form fields, carried through the confirmation step."""
        fields = [(f"text_{lang}", self.texts.get(lang, "")) for lang in LANGUAGES]
        fields += [(name, value) for name in AUDIENCE_FIELDS for value in self.audience.get(name, [])]
        fields += [
            ("template_name", self.template_name), ("template_language", self.template_language),
            ("template_parameters", self.template_parameters), ("scheduled_at", self.schedule),
        ]
        return fields

    def previews(self) -> list[Preview]:
        return previews(self.texts)


def read_audience(form: Mapping[str, Any], choices: Choices) -> tuple[dict[str, list[str]], bool]:
    """The checked boxes (`form` has `getall`); False when a value is not one of the choices."""
    audience: dict[str, list[str]] = {}
    valid = True
    for name in AUDIENCE_FIELDS:
        values = [str(v) for v in form.getall(name, [])]  # type: ignore[attr-defined]
        allowed = choices.allowed(name)
        valid = valid and all(v in allowed for v in values)
        chosen = [v for v in allowed if v in values]  # the choices' order, no duplicates
        if chosen:
            audience[name] = chosen
    return audience, valid


def read_draft(form: Mapping[str, Any], choices: Choices, now: dt.datetime) -> Draft:
    audience, audience_ok = read_audience(form, choices)
    draft = Draft(
        texts={lang: str(form.get(f"text_{lang}", "")).replace("\r\n", "\n") for lang in LANGUAGES},
        audience=audience,
        template_name=str(form.get("template_name", "")).strip(),
        template_language=str(form.get("template_language", "")).strip(),
        template_parameters=str(form.get("template_parameters", "")).replace("\r\n", "\n"),
        schedule=str(form.get("scheduled_at", "")).strip(),
    )
    if not audience_ok:
        draft.errors.append(("bc_error_audience", {}))
    try:
        draft.text = validate_text(draft.texts)
    except BroadcastError:
        too_long = [lang for lang, value in draft.texts.items() if utf16_length(value.strip()) > TEXT_LIMIT]
        if too_long:
            draft.errors.append(("bc_error_text_too_long", {"limit": TEXT_LIMIT, "languages": ", ".join(too_long)}))
        else:
            draft.errors.append(("bc_error_text_missing", {}))
    _read_template(draft)
    _read_schedule(draft, now)
    return draft


def _read_template(draft: Draft) -> None:
    parameters = [line.strip() for line in draft.template_parameters.split("\n") if line.strip()]
    if not draft.template_name:
        if parameters:
            draft.errors.append(("bc_error_template_name", {}))
        return
    try:
        draft.template = validate_template({
            "name": draft.template_name, "language": draft.template_language or DEFAULT_LANGUAGE,
            "parameters": parameters,
        })
    except BroadcastError:
        draft.errors.append(("bc_error_template", {}))


def _read_schedule(draft: Draft, now: dt.datetime) -> None:
    if not draft.schedule:
        return
    try:
        scheduled = parse_local(draft.schedule)
    except ValueError:
        draft.errors.append(("bc_error_schedule", {}))
        return
    if scheduled < now - SCHEDULE_GRACE:
        draft.errors.append(("bc_error_schedule_past", {}))
    elif scheduled > now:
        draft.scheduled_at = scheduled


def previews(texts: Mapping[str, str]) -> list[Preview]:
    """For each language, the text its subscribers get — the engine's own fallback (within
    Darija, then French), so a missing translation is visible before sending."""
    result = []
    for language in LANGUAGES:
        order = [language] + ([d for d in DARIJA if d != language] if language in DARIJA else [])
        source = next(
            (lang for lang in order + [DEFAULT_LANGUAGE, *LANGUAGES] if (texts.get(lang) or "").strip()),
            None,
        )
        text = (texts.get(source) or "").strip() if source else ""
        result.append(Preview(
            language=language, text=text, source=source,
            direction="rtl" if source == "ary" else "ltr", length=utf16_length(text),
        ))
    return result
