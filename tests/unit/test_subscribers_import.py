"""`sawt subscribers import FILE.csv` (CONTRACT §6): create, update, report bad lines."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.broadcast.importer import import_subscribers
from bot.db.citizens import unsubscribe
from bot.db.console import AuditEntry
from bot.db.models import SUBSCRIPTION_TOPICS, District, Subscriber
from bot.db.session import Database

COMMUNE = "benguerir"


def write(tmp_path: Path, text: str, name: str = "subscribers.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def subscribers(database: Database) -> dict[tuple[str, str], Subscriber]:
    with database.session() as session:
        return {(s.channel, s.user_id): s for s in session.execute(select(Subscriber)).scalars()}


def district_of(database: Database, subscriber: Subscriber) -> str | None:
    if subscriber.district_id is None:
        return None
    with database.session() as session:
        return session.get(District, subscriber.district_id).slug


GOOD = (
    "channel,user_id,language,district,topics\n"
    "telegram,123456789,fr,medina,works;taxes\n"
    "whatsapp,+212 612-345678,ary,ville_verte,events|jobs\n"
    "telegram,-100777,ary_latn,,\n"
)


def test_import_creates_subscribers_with_their_district_topics_and_normalised_number(db, tmp_path):
    report = import_subscribers(db, COMMUNE, write(tmp_path, GOOD))
    assert (report.created, report.updated, report.unchanged, report.skipped) == (3, 0, 0, 0)
    rows = subscribers(db)
    assert set(rows) == {("telegram", "123456789"), ("whatsapp", "212612345678"), ("telegram", "-100777")}
    first = rows[("telegram", "123456789")]
    assert first.active and first.language == "fr" and first.topics == ["works", "taxes"]
    assert district_of(db, first) == "medina"
    assert rows[("whatsapp", "212612345678")].topics == ["events", "jobs"]
    # No district and no topics: the whole commune, every topic (as a chat subscription).
    group = rows[("telegram", "-100777")]
    assert group.district_id is None and group.topics == list(SUBSCRIPTION_TOPICS)


def test_importing_again_is_idempotent_and_a_changed_line_updates_its_row(db, tmp_path):
    import_subscribers(db, COMMUNE, write(tmp_path, GOOD))
    again = import_subscribers(db, COMMUNE, write(tmp_path, GOOD))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    changed = GOOD.replace("telegram,123456789,fr,medina,works;taxes", "telegram,123456789,ary,hay_al_massira,jobs")
    report = import_subscribers(db, COMMUNE, write(tmp_path, changed))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    rows = subscribers(db)
    assert len(rows) == 3
    updated = rows[("telegram", "123456789")]
    assert (updated.language, updated.topics) == ("ary", ["jobs"])
    assert district_of(db, updated) == "hay_al_massira"


def test_bad_lines_are_reported_with_their_number_and_skipped_while_good_ones_are_imported(db, tmp_path):
    text = (
        "channel,user_id,language,district,topics\n"
        "telegram,1,fr,medina,works\n"
        "sms,2,fr,medina,works\n"
        "telegram,3,en,medina,works\n"
        "\n"
        "telegram,4,fr,atlantis,works\n"
        "telegram,5,fr,medina,football\n"
        "whatsapp,12ab,fr,medina,works\n"
        'telegram,6,fr,medina,"works;\nevents"\n'
        "telegram,7,fr,,\n"
    )
    report = import_subscribers(db, COMMUNE, write(tmp_path, text))
    expected = [
        (3, "unknown channel"), (4, "unknown language"), (6, "unknown district"),
        (7, "unknown topic(s)"), (8, "invalid WhatsApp number"),
    ]
    assert [e.line for e in report.errors] == [line for line, _ in expected]
    for error, (_line, prefix) in zip(report.errors, expected):
        assert error.reason.startswith(prefix), error
    assert "'atlantis'" in report.errors[2].reason
    assert (report.created, report.skipped) == (3, 5)
    assert set(subscribers(db)) == {("telegram", "1"), ("telegram", "6"), ("telegram", "7")}
    assert subscribers(db)[("telegram", "6")].topics == ["works", "events"]


def test_a_citizen_who_unsubscribed_is_not_subscribed_again_by_an_import(db, tmp_path):
    import_subscribers(db, COMMUNE, write(tmp_path, GOOD))
    unsubscribe(db, "telegram", "123456789")
    report = import_subscribers(db, COMMUNE, write(tmp_path, GOOD))
    assert report.opted_out == 1
    assert not subscribers(db)[("telegram", "123456789")].active


def test_a_semicolon_separated_spreadsheet_export_is_read(db, tmp_path):
    text = "\ufeffChannel;User_id;Language;District;Topics\ntelegram;42;fr;Medina;works|jobs\n"
    report = import_subscribers(db, COMMUNE, write(tmp_path, text))
    assert report.created == 1 and not report.errors
    assert subscribers(db)[("telegram", "42")].topics == ["works", "jobs"]


def test_the_import_is_audited_with_its_counts(db, tmp_path):
    import_subscribers(db, COMMUNE, write(tmp_path, GOOD))
    with db.session() as session:
        entry = session.execute(select(AuditEntry).where(AuditEntry.action == "subscribers_import")).scalar_one()
    assert entry.actor == "cli"
    assert entry.details["created"] == 3 and entry.details["file"] == "subscribers.csv"


# ---- the command itself ----------------------------------------------------------------------
@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SAWT_COMMUNE", COMMUNE)
    return tmp_path


def test_the_command_prints_a_summary_and_each_skipped_line(cli_env, capsys):
    from bot.cli import main

    path = write(cli_env, GOOD + "telegram,9,fr,nowhere,\n")
    assert main(["subscribers", "import", str(path)]) == 1
    out, err = capsys.readouterr()
    assert "created 3, updated 0, unchanged 0, skipped 1" in out
    assert "line 5: unknown district 'nowhere'" in err
    assert main(["subscribers", "import", str(write(cli_env, GOOD, "again.csv"))]) == 0
    assert "created 0, updated 0, unchanged 3, skipped 0" in capsys.readouterr().out


def test_the_command_refuses_a_file_without_the_contract_columns(cli_env, capsys):
    from bot.cli import main

    path = write(cli_env, "channel,user_id\ntelegram,1\n")
    assert main(["subscribers", "import", str(path)]) == 2
    assert "missing column(s) language, district, topics" in capsys.readouterr().err
