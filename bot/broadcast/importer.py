"""`sawt subscribers import FILE.csv`: read, validate line by line, write in batches, report.

A bad line never stops the import: it is reported (line number and reason) and skipped, and
the good lines are written. Progress is reported per batch so a big file shows it is moving.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from bot.broadcast.subscriber_csv import RowError, SubscriberRow, parse_row, read_rows
from bot.db.console import audit
from bot.db.session import Database
from bot.db.subscribers_admin import district_slugs, upsert_subscribers

BATCH = 500

Progress = Callable[[int], None]


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # Existing citizens who had unsubscribed: their details are updated, they stay out.
    opted_out: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return len(self.errors)

    def add(self, outcomes: Counter[str]) -> None:
        self.created += outcomes["created"]
        self.updated += outcomes["updated"]
        self.unchanged += outcomes["unchanged"]
        self.opted_out += outcomes["opted_out"]

    def summary(self) -> str:
        text = (
            f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, "
            f"skipped {self.skipped}"
        )
        if self.opted_out:
            text += f"; {self.opted_out} had unsubscribed and stay unsubscribed"
        return text


def import_subscribers(
    database: Database, commune: str, path: Path, *, actor: str = "cli",
    progress: Optional[Progress] = None,
) -> ImportReport:
    """Import the CSV at `path` (raises `CsvFormatError` when its header is unusable)."""
    report = ImportReport()
    districts = district_slugs(database, commune)
    # The same citizen twice in a file: the last line wins, as a second import would.
    batch: dict[tuple[str, str], SubscriberRow] = {}

    def flush() -> None:
        if batch:
            report.add(upsert_subscribers(database, commune, list(batch.values())))
            if progress is not None:
                progress(len(batch))
            batch.clear()

    with path.open(encoding="utf-8-sig", newline="") as handle:
        for line, raw in read_rows(handle):
            parsed = parse_row(line, raw, districts)
            if isinstance(parsed, RowError):
                report.errors.append(parsed)
                if progress is not None:
                    progress(1)
                continue
            key = (parsed.channel, parsed.user_id)
            if key in batch:
                flush()
            batch[key] = parsed
            if len(batch) >= BATCH:
                flush()
    flush()
    audit(database, actor, "subscribers_import", "subscribers", None, {
        "file": path.name, "created": report.created, "updated": report.updated,
        "unchanged": report.unchanged, "opted_out": report.opted_out, "skipped": report.skipped,
    })
    return report


def count_lines(path: Path) -> int:
    """Data lines (for a progress bar's total): physical lines minus the header."""
    with path.open("rb") as handle:
        return max(0, sum(1 for _ in handle) - 1)
