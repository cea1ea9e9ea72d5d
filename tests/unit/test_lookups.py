"""The NLU lookup tables in the repository are those the seeded database generates."""
from __future__ import annotations

from bot.db.lookups import lookup_documents, render, write_lookups
from bot.settings import PROJECT_ROOT


def test_committed_lookups_match_the_seed_content(db, settings):
    for name, blocks in lookup_documents(db, settings.commune_slug).items():
        committed = (PROJECT_ROOT / "nlu" / "lookups" / name).read_text(encoding="utf-8")
        assert committed == render(blocks), f"nlu/lookups/{name} is stale: run `sawt lookups`"


def test_every_district_alias_is_a_lookup_entry_and_maps_to_its_slug(db, settings, tmp_path):
    import yaml

    from bot.db.content import list_districts

    written = {p.name: p for p in write_lookups(db, settings, tmp_path)}
    data = yaml.safe_load(written["district.yml"].read_text(encoding="utf-8"))["nlu"]
    lookup = next(b for b in data if b.get("lookup") == "district")["examples"]
    synonyms = {b["synonym"]: b["examples"] for b in data if "synonym" in b}
    for district in list_districts(db, settings.commune_slug):
        for alias in district.aliases:
            assert f"- {alias.strip()}\n" in lookup or alias.strip().casefold() in lookup.casefold()
        assert district.slug in synonyms
