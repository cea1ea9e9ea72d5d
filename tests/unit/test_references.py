"""References are found however a citizen types them, and written one way."""
from __future__ import annotations

from bot.references import application_reference, complaint_reference, tax_reference


def test_typed_variants_of_a_reference_become_the_stored_form():
    assert complaint_reference("suivi rec 2026 000123 svp") == "REC-2026-000123"
    assert complaint_reference("REC-2026-000123") == "REC-2026-000123"
    assert application_reference("dossier dem-2026-000417") == "DEM-2026-000417"
    assert tax_reference("chhal ba9i f tsc48213") == "TSC-48213"
    assert tax_reference("TNB-31877") == "TNB-31877"


def test_a_reference_of_another_kind_is_not_taken():
    assert complaint_reference("DEM-2026-000417") is None
    assert application_reference("REC-2026-000123") is None
    assert tax_reference("REC-2026-000123") is None
    assert tax_reference("XYZ-48213") is None
