"""Casebridge references: AREA-YEAR-SEQUENCE-CHECK, with a Damm check digit so a reference
misheard on the phone (one wrong digit, two swapped digits) is caught."""

from __future__ import annotations

import re

from stdnum import damm

_REFERENCE = re.compile(r"^([A-Z]{2,6})-(\d{4})-(\d{6,12})-(\d)$")


def make_reference(area_code: str, year: int, sequence: int) -> str:
    body = f"{year:04d}{sequence:06d}"
    return f"{area_code}-{year:04d}-{sequence:06d}-{damm.calc_check_digit(body)}"


def is_valid_reference(reference: str) -> bool:
    match = _REFERENCE.match(reference.strip().upper())
    if match is None:
        return False
    _, year, sequence, check = match.groups()
    return damm.is_valid(f"{year}{sequence}{check}")


def looks_like_reference(value: str) -> bool:
    """Has the shape of a Casebridge reference (whatever its check character)."""
    return _REFERENCE.match(value.strip().upper()) is not None


def checked_lookup(value: str) -> str:
    """A lookup value: a Casebridge reference must pass its check character (a typo is
    caught here, before any query); anything else is taken as an agency's reference."""
    value = value.strip()
    if looks_like_reference(value) and not is_valid_reference(value):
        raise ValueError(
            "the check character is wrong: this Casebridge reference has a typo "
            "(a wrong or swapped digit)"
        )
    return value.upper() if looks_like_reference(value) else value
