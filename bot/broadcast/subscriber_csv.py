"""Reading a subscriber list (CONTRACT §6: `channel,user_id,language,district,topics`).

Each line is checked on its own and a bad one is reported with its line number and the
reason, never guessed at: a wrong district or language would send announcements to the wrong
people. Topics are separated by `;` or `|` (a spreadsheet's choice); none means every topic,
as when a citizen subscribes in the chat.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from typing import Iterator, Mapping, Optional, TextIO, Union

from bot.db.models import SUBSCRIPTION_TOPICS
from bot.i18n import LANGUAGES
from bot.identity import PLATFORM_CHANNELS

COLUMNS = ("channel", "user_id", "language", "district", "topics")
TOPIC_SEPARATORS = re.compile(r"[;|]")
# A Telegram chat id (negative for groups); a WhatsApp number in international form, the
# way the Cloud API names it (wa_id: digits only, 7 to 15 of them).
TELEGRAM_ID = re.compile(r"-?\d{1,20}")
WHATSAPP_ID = re.compile(r"\d{7,15}")
WHATSAPP_PUNCTUATION = re.compile(r"[\s+\-().]")


class CsvFormatError(ValueError):
    """The file as a whole cannot be read (no header, missing columns)."""


@dataclass(frozen=True)
class SubscriberRow:
    line: int
    channel: str
    user_id: str
    language: str
    district: Optional[str]
    topics: tuple[str, ...]


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str


def read_rows(handle: TextIO) -> Iterator[tuple[int, dict[str, str]]]:
    """`(line number, {column: value})` for every non-empty data line; the delimiter is a
    comma, or a semicolon when the header uses one (French spreadsheets export that way)."""
    header_line = handle.readline()
    if not header_line.strip():
        raise CsvFormatError("the file is empty: the first line must name the columns " + ",".join(COLUMNS))
    delimiter = ";" if "," not in header_line and ";" in header_line else ","
    header = [name.strip().lower().lstrip("\ufeff") for name in next(csv.reader([header_line], delimiter=delimiter))]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise CsvFormatError(f"line 1: missing column(s) {', '.join(missing)} (expected {','.join(COLUMNS)})")
    reader = csv.reader(handle, delimiter=delimiter)
    first = 2
    for values in reader:
        line = first
        first = reader.line_num + 2  # the header was read before the reader started
        if not any(value.strip() for value in values):
            continue
        yield line, {name: (values[i].strip() if i < len(values) else "") for i, name in enumerate(header)}


def parse_row(
    line: int, raw: Mapping[str, str], districts: Mapping[str, str]
) -> Union[SubscriberRow, RowError]:
    """Validate one line; `districts` maps a lower-case slug to the stored slug."""
    channel = raw.get("channel", "").lower()
    if channel not in PLATFORM_CHANNELS:
        return RowError(line, f"unknown channel {raw.get('channel', '')!r} (expected {' or '.join(PLATFORM_CHANNELS)})")
    user_id = raw.get("user_id", "")
    if channel == "whatsapp":
        user_id = WHATSAPP_PUNCTUATION.sub("", user_id)
        if not WHATSAPP_ID.fullmatch(user_id):
            return RowError(line, f"invalid WhatsApp number {raw.get('user_id', '')!r} (international form, e.g. 212612345678)")
    elif not TELEGRAM_ID.fullmatch(user_id):
        return RowError(line, f"invalid Telegram chat id {user_id!r} (a number)")
    language = raw.get("language", "").lower()
    if language not in LANGUAGES:
        return RowError(line, f"unknown language {raw.get('language', '')!r} (expected {', '.join(LANGUAGES)})")
    district_text = raw.get("district", "")
    district = districts.get(district_text.lower()) if district_text else None
    if district_text and district is None:
        return RowError(line, f"unknown district {district_text!r}")
    topics = tuple(t.strip().lower() for t in TOPIC_SEPARATORS.split(raw.get("topics", "")) if t.strip())
    unknown = [t for t in topics if t not in SUBSCRIPTION_TOPICS]
    if unknown:
        return RowError(line, f"unknown topic(s) {', '.join(unknown)} (expected {', '.join(SUBSCRIPTION_TOPICS)})")
    return SubscriberRow(
        line=line, channel=channel, user_id=user_id, language=language, district=district,
        topics=tuple(dict.fromkeys(topics)) or SUBSCRIPTION_TOPICS,
    )
