"""The secret a citizen gives before the assistant shows a tax balance, kept only as a hash.

A tax account's balance is personal: before showing it, the assistant asks the verification
question of the account (e.g. "the last 4 digits of the holder's CIN") and compares the
answer with `TaxAccount.verification_hash`. The answer itself is never stored, so a database
dump, a console screen, a log line or a CSV export does not hand out pieces of citizens'
identity numbers. Argon2 (argon2-cffi's `PasswordHasher`) salts every hash, so two accounts
with the same answer do not show it, and it is slow on purpose.

A four-digit answer has only 10,000 possible values: a stolen hash can still be brute-forced
offline. The hash keeps the answer out of sight; what stops guessing through the chat is the
account's lock-out (`failed_attempts`, `locked_until`), and what protects the hashes is who
can read the database.

Answers are compared after normalisation, because citizens type "48 21", "48-21" or use
Arabic-Indic digits ("٤٨٢١"): surrounding whitespace is stripped, the text is case-folded,
Eastern Arabic digits become ASCII digits, and every space and dash is removed.
"""
from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

# Arabic-Indic (U+0660…) and Extended Arabic-Indic (U+06F0…, Persian/Urdu keyboards) digits.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
# Whitespace, and the dashes typed between digit groups: - ‐ ‑ ‒ – — ― − and ـ (tatweel).
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212\u0640]+")


def normalise_answer(answer: str) -> str:
    """The form an answer is hashed and compared in: "  48-21 " and "٤٨ ٢١" give "4821"."""
    return _SEPARATORS.sub("", answer.strip().casefold().translate(_DIGITS))


def hash_answer(answer: str) -> str:
    """An Argon2 hash of the normalised answer; refuses an answer that normalises to nothing."""
    normalised = normalise_answer(answer)
    if not normalised:
        raise ValueError("a verification answer cannot be empty")
    return _hasher.hash(normalised)


def check_answer(stored_hash: str, answer: str) -> bool:
    """Whether `answer` matches the stored hash; False (never an exception) for anything else."""
    normalised = normalise_answer(answer or "")
    if not normalised or not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, normalised)
    except (VerificationError, InvalidHashError):
        return False
