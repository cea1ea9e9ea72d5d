"""The content editor's fields: from a row to a form, and from a posted form back to values.

The rules live here, beside the writes, and not in the page: every citizen text in the three
languages, lengths a chat message can carry, dates that exist. They protect what the assistant
says whoever writes. A field reads flat form names (`name.fr`, `documents.2.ary`, `opens_at`),
so a refused form is shown again exactly as the agent typed it. An error is a console text key
and its parameters; the page translates it into the agent's language. Nothing here touches the
database.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping, Optional, Sequence
from urllib.parse import urlparse

from bot.db.content import fold
from bot.db.models import LANGUAGES

Form = Mapping[str, str]
_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")
_PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{4,30}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
_EARLIEST = dt.date(2000, 1, 1)


@dataclass(frozen=True)
class FieldError:
    """One broken rule: `key` is a console text (`content_error_…`), `languages` the citizen
    languages concerned, `params` the text's placeholders."""

    field: str
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)
    languages: tuple[str, ...] = ()


class Invalid(Exception):
    """The form breaks at least one rule; nothing was written."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__(", ".join(f"{e.field}: {e.key}" for e in errors))
        self.errors = list(errors)


@dataclass(frozen=True)
class FormContext:
    """What parsing needs beyond the form: the commune's clock and the rows a select offers
    (reference field name → slug → id)."""

    timezone: dt.tzinfo
    today: dt.date
    references: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


def _clean(text: str, multiline: bool) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    return text if multiline else " ".join(text.split())


def check_texts(
    name: str, texts: Mapping[str, str], max_length: int, row: Optional[int] = None
) -> Optional[FieldError]:
    """The first broken rule of one multilingual text, or None."""
    params: dict[str, Any] = {"max": max_length}
    if row is not None:
        params["row"] = row
    missing = tuple(lang for lang in LANGUAGES if not texts.get(lang))
    if missing:
        return FieldError(name, "content_error_languages_missing", params, missing)
    too_long = tuple(lang for lang in LANGUAGES if len(texts[lang]) > max_length)
    if too_long:
        return FieldError(name, "content_error_too_long", params, too_long)
    if not _ARABIC.search(texts["ary"]):
        return FieldError(name, "content_error_ary_script", params, ("ary",))
    if _ARABIC.search(texts["ary_latn"]) or not _LATIN.search(texts["ary_latn"]):
        return FieldError(name, "content_error_latn_script", params, ("ary_latn",))
    return None


@dataclass(frozen=True)
class Field(ABC):
    """A form field bound to a row attribute (`attr`, the name by default)."""

    name: str
    required: bool = True
    attr: str = ""
    widget = "text"

    @property
    def attribute(self) -> str:
        return self.attr or self.name

    def read(self, row: Any) -> Any:
        return getattr(row, self.attribute)

    def write(self, row: Any, value: Any, context: FormContext) -> None:
        setattr(row, self.attribute, value)

    def to_form(self, value: Any, context: FormContext) -> dict[str, str]:
        return {self.name: "" if value is None else str(value)}

    def same(self, before: Any, after: Any) -> bool:
        return bool(before == after)

    @abstractmethod
    def parse(self, form: Form, context: FormContext) -> Any:
        """The field's value from the submitted form; raises `Invalid` with its errors."""

    def _raw(self, form: Form) -> str:
        return _clean(str(form.get(self.name, "")), multiline=False)

    def _absent(self) -> None:
        if self.required:
            raise Invalid([FieldError(self.name, "content_error_required")])


@dataclass(frozen=True)
class I18nText(Field):
    """One text in fr / ary / ary_latn, edited side by side."""

    max_length: int = 200
    multiline: bool = False

    widget = "i18n"

    def to_form(self, value: Any, context: FormContext) -> dict[str, str]:
        return {f"{self.name}.{lang}": (value or {}).get(lang, "") for lang in LANGUAGES}

    def parse(self, form: Form, context: FormContext) -> Optional[dict[str, str]]:
        texts = {
            lang: _clean(str(form.get(f"{self.name}.{lang}", "")), self.multiline)
            for lang in LANGUAGES
        }
        if not any(texts.values()):
            return self._absent()
        error = check_texts(self.name, texts, self.max_length)
        if error:
            raise Invalid([error])
        return texts


_ROW = re.compile(r"^(?P<name>\w+)\.(?P<index>\d{1,3})\.(?P<lang>\w+)$")


@dataclass(frozen=True)
class I18nList(Field):
    """A list of multilingual texts (documents, steps): one row per item, blank rows to add
    one, an emptied row removes it."""

    max_items: int = 20
    max_length: int = 500
    blank_rows: int = 2

    widget = "i18n_list"

    def to_form(self, value: Any, context: FormContext) -> dict[str, str]:
        return {
            f"{self.name}.{index}.{lang}": item.get(lang, "")
            for index, item in enumerate(value or [])
            for lang in LANGUAGES
        }

    def indices(self, values: Form) -> list[int]:
        found = set()
        for key in values:
            match = _ROW.match(key)
            if match and match["name"] == self.name:
                found.add(int(match["index"]))
        return sorted(found)

    def rows(self, values: Form) -> list[int]:
        """The row indices a form shows: those filled, then blank ones to add items."""
        present = self.indices(values)
        start = (present[-1] + 1) if present else 0
        return present + list(range(start, start + self.blank_rows))

    def parse(self, form: Form, context: FormContext) -> Optional[list[dict[str, str]]]:
        items: list[dict[str, str]] = []
        for number, index in enumerate(self.indices(form), 1):
            texts = {
                lang: _clean(str(form.get(f"{self.name}.{index}.{lang}", "")), multiline=False)
                for lang in LANGUAGES
            }
            if not any(texts.values()):
                continue
            error = check_texts(self.name, texts, self.max_length, row=number)
            if error:
                raise Invalid([error])
            items.append(texts)
        if not items:
            return self._absent() or []
        if len(items) > self.max_items:
            raise Invalid([FieldError(self.name, "content_error_too_many", {"max": self.max_items})])
        return items


@dataclass(frozen=True)
class Lines(Field):
    """Plain strings, one per line (spellings people type); duplicates dropped."""

    required: bool = False
    max_items: int = 100
    max_length: int = 100

    widget = "lines"

    def to_form(self, value: Any, context: FormContext) -> dict[str, str]:
        return {self.name: "\n".join(value or [])}

    def parse(self, form: Form, context: FormContext) -> list[str]:
        seen: dict[str, str] = {}
        for line in str(form.get(self.name, "")).splitlines():
            line = " ".join(line.split())
            if len(line) > self.max_length:
                raise Invalid([FieldError(self.name, "content_error_line_too_long",
                                          {"max": self.max_length, "text": line[:40]})])
            if line and line.casefold() not in seen:
                seen[line.casefold()] = line
        if len(seen) > self.max_items:
            raise Invalid([FieldError(self.name, "content_error_too_many", {"max": self.max_items})])
        return list(seen.values())


@dataclass(frozen=True)
class Url(Field):
    required: bool = False
    widget = "url"

    def parse(self, form: Form, context: FormContext) -> Optional[str]:
        raw = self._raw(form)
        if not raw:
            return self._absent()
        parsed = urlparse(raw)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or " " in raw or len(raw) > 255:
            raise Invalid([FieldError(self.name, "content_error_url")])
        return raw


@dataclass(frozen=True)
class Phone(Field):
    required: bool = False
    widget = "tel"

    def parse(self, form: Form, context: FormContext) -> Optional[str]:
        raw = self._raw(form)
        if not raw:
            return self._absent()
        if not _PHONE.match(raw):
            raise Invalid([FieldError(self.name, "content_error_phone")])
        return raw


@dataclass(frozen=True)
class Number(Field):
    """A decimal (money), float (coordinates) or int, within bounds; a comma works as the
    decimal point, as agents type it."""

    required: bool = False
    kind: str = "decimal"
    minimum: float = 0
    maximum: float = 1_000_000
    widget = "number"

    @property
    def step(self) -> str:
        return {"decimal": "0.01", "int": "1"}.get(self.kind, "any")

    def to_form(self, value: Any, context: FormContext) -> dict[str, str]:
        if value is None:
            return {self.name: ""}
        return {self.name: f"{value:.2f}" if self.kind == "decimal" else str(value)}

    def parse(self, form: Form, context: FormContext) -> Any:
        raw = self._raw(form).replace(",", ".").replace(" ", "")
        if not raw:
            return self._absent()
        params = {"min": self.minimum, "max": self.maximum}
        try:
            number = Decimal(raw)
        except InvalidOperation:
            raise Invalid([FieldError(self.name, "content_error_number", params)]) from None
        if not number.is_finite() or not self.minimum <= number <= self.maximum:
            raise Invalid([FieldError(self.name, "content_error_range", params)])
        if self.kind == "int":
            if number != number.to_integral_value():
                raise Invalid([FieldError(self.name, "content_error_number", params)])
            return int(number)
        if self.kind == "float":
            return float(number)
        return number.quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Day(Field):
    """A date such as "last verified": not in the future (a check that has not happened)."""

    required: bool = False
    widget = "date"

    def to_form(self, value: Any, context: FormContext) -> dict[str, str]:
        return {self.name: value.isoformat() if value else ""}

    def parse(self, form: Form, context: FormContext) -> Optional[dt.date]:
        raw = self._raw(form)
        if not raw:
            return self._absent()
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            raise Invalid([FieldError(self.name, "content_error_date")]) from None
        if day > context.today:
            raise Invalid([FieldError(self.name, "content_error_future_date")])
        if day < _EARLIEST:
            raise Invalid([FieldError(self.name, "content_error_date")])
        return day


@dataclass(frozen=True)
class Moment(Field):
    """A date and time typed in the commune's local time, stored as naive UTC."""

    widget = "datetime-local"

    def to_form(self, value: Any, context: FormContext) -> dict[str, str]:
        if value is None:
            return {self.name: ""}
        local = value.replace(tzinfo=dt.timezone.utc).astimezone(context.timezone)
        return {self.name: local.strftime("%Y-%m-%dT%H:%M")}

    def parse(self, form: Form, context: FormContext) -> Optional[dt.datetime]:
        raw = self._raw(form)
        if not raw:
            return self._absent()
        try:
            local = dt.datetime.fromisoformat(raw.replace(" ", "T"))
        except ValueError:
            raise Invalid([FieldError(self.name, "content_error_datetime")]) from None
        if local.tzinfo is not None or local.date() < _EARLIEST:
            raise Invalid([FieldError(self.name, "content_error_datetime")])
        moment = local.replace(tzinfo=context.timezone).astimezone(dt.timezone.utc)
        return moment.replace(tzinfo=None, second=0, microsecond=0)

    def same(self, before: Any, after: Any) -> bool:
        """The form shows minutes: a stored time with seconds is unchanged by a save."""
        if before is None or after is None:
            return before is after
        return bool(before.replace(second=0, microsecond=0) == after)


@dataclass(frozen=True)
class Choice(Field):
    """One of fixed values; their labels are console texts `content_<name>_<value>`."""

    choices: tuple[str, ...] = ()
    widget = "choice"

    def parse(self, form: Form, context: FormContext) -> Optional[str]:
        raw = self._raw(form)
        if not raw:
            return self._absent()
        if raw not in self.choices:
            raise Invalid([FieldError(self.name, "content_error_choice")])
        return raw


@dataclass(frozen=True)
class Reference(Field):
    """Another row of the commune, chosen by slug (an office, a district); stored as its id
    through `attr`, read back through the `relation`."""

    required: bool = False
    relation: str = ""
    widget = "reference"

    def read(self, row: Any) -> Optional[str]:
        related = getattr(row, self.relation)
        return related.slug if related is not None else None

    def write(self, row: Any, value: Any, context: FormContext) -> None:
        setattr(row, self.attribute, context.references[self.name][value] if value else None)

    def parse(self, form: Form, context: FormContext) -> Optional[str]:
        raw = self._raw(form)
        if not raw:
            return self._absent()
        if raw not in context.references.get(self.name, {}):
            raise Invalid([FieldError(self.name, "content_error_choice")])
        return raw


@dataclass(frozen=True)
class Slug(Field):
    """A new row's stable identifier: lower-case letters, digits and underscores."""

    widget = "slug"

    def parse(self, form: Form, context: FormContext) -> Optional[str]:
        raw = self._raw(form).lower()
        if not raw:
            return self._absent()
        if not is_slug(raw):
            raise Invalid([FieldError(self.name, "content_error_slug")])
        return raw


def is_slug(text: str) -> bool:
    """Lower-case letters, digits, underscores; "new" is the URL of the creation form."""
    return bool(_SLUG.match(text)) and text != "new"


def slugify(text: str) -> str:
    """An identifier from a French label: "Éclairage des ruelles" → "eclairage_des_ruelles"."""
    words = re.findall(r"[a-z0-9]+", fold(text))
    return "_".join(words)[:64].strip("_")


# ---- whole forms ------------------------------------------------------------------------------
def parse_form(
    fields: Sequence[Field], form: Form, context: FormContext
) -> tuple[dict[str, Any], list[FieldError]]:
    """Every field's value, and every field's error (the agent sees all of them at once);
    a refused field is left out of the values, so rules across fields skip it."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for spec in fields:
        try:
            values[spec.name] = spec.parse(form, context)
        except Invalid as invalid:
            errors.extend(invalid.errors)
    return values, errors


def form_values(fields: Sequence[Field], row: Any, context: FormContext) -> dict[str, str]:
    """The form of a row, as the browser will post it back."""
    values: dict[str, str] = {}
    for spec in fields:
        values.update(spec.to_form(spec.read(row) if row is not None else None, context))
    return values


def changes(fields: Sequence[Field], row: Any, values: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Field name → (before, after), for the fields the form changes."""
    found: dict[str, tuple[Any, Any]] = {}
    for spec in fields:
        before, after = spec.read(row), values[spec.name]
        if not spec.same(before, after):
            found[spec.name] = (before, after)
    return found


def jsonable(value: Any) -> Any:
    """A value as the audit log's JSON keeps it."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
