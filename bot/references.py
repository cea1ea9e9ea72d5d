"""The reference numbers citizens copy from a receipt, an SMS or a tax notice.

One place knows their shapes, so the regexes of the NLU (`nlu/regex.yml`), the forms that
read a typed reference and the writers that number new rows agree: a citizen may type
`rec 2026 000123` or `tsc48213`, the database holds `REC-2026-000123` and `TSC-48213`.
"""
from __future__ import annotations

import re
from typing import Optional

# Yearly numbered records: PREFIX-YYYY-NNNNNN.
COMPLAINT = "REC"
APPLICATION = "DEM"
IDEA = "IDE"
TAX_PREFIXES: tuple[str, ...] = ("TSC", "TH", "TNB", "TCO", "TDB", "ODP")

_TAX = re.compile(rf"\b({'|'.join(TAX_PREFIXES)})[- ]?(\d{{5}})\b", re.IGNORECASE)


def _yearly(prefix: str, text: str) -> Optional[str]:
    match = re.search(rf"\b{prefix}[- ]?(\d{{4}})[- ]?(\d{{6}})\b", text or "", re.IGNORECASE)
    return f"{prefix}-{match.group(1)}-{match.group(2)}" if match else None


def complaint_reference(text: str) -> Optional[str]:
    return _yearly(COMPLAINT, text)


def application_reference(text: str) -> Optional[str]:
    return _yearly(APPLICATION, text)


def tax_reference(text: str) -> Optional[str]:
    match = _TAX.search(text or "")
    return f"{match.group(1).upper()}-{match.group(2)}" if match else None
