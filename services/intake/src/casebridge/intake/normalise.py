"""Normal forms that matching and lookups compare: phone, e-mail, name, postcode, keys."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

# The UK postcode shape (outward + inward code), and the special GIR 0AA.
_POSTCODE = re.compile(r"^(GIR ?0AA|[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2})$")
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "rev", "sir"})
_NON_WORD = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")


def phone(raw: str, region: str = "GB") -> str:
    """E.164, UK numbers by default; ValueError if it is not a real number."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("is not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("is not a valid phone number")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def email(raw: str) -> str:
    value = raw.strip().lower()
    local, _, domain = value.partition("@")
    if not local or "." not in domain or " " in value or len(value) > 254:
        raise ValueError("is not an e-mail address")
    return value


def postcode(raw: str) -> str:
    """`sw1a1aa` -> `SW1A 1AA`; ValueError if it is not a UK postcode."""
    compact = _SPACES.sub("", raw.upper())
    if not _POSTCODE.match(compact):
        raise ValueError("is not a valid UK postcode")
    return f"{compact[:-3]} {compact[-3:]}"


def name(raw: str) -> str:
    """Lower case, no accents, punctuation or titles: `Mrs. Anne-Marie O'Neil` ->
    `anne marie o neil`."""
    folded = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode().lower()
    words = _SPACES.sub(" ", _NON_WORD.sub(" ", folded)).split()
    while len(words) > 1 and words[0] in _TITLES:
        words = words[1:]
    return " ".join(words)


def reference(raw: str) -> str:
    """Agency references compare without case, spaces or separators."""
    return re.sub(r"[^A-Z0-9]", "", raw.upper())


def perpetrator_key(
    *,
    kind: str,
    person_id: str | None,
    name_: str | None,
    address: str | None,
    postcode_: str | None,
) -> str | None:
    """A stable key for "the same alleged perpetrator" across complaints; None if unknown."""
    if person_id:
        return f"person:{person_id}"
    place = postcode_ or ""
    if name_ and name(name_):
        prefix = "name" if kind == "person" else kind
        return f"{prefix}:{name(name_)}|{place}"
    if kind == "household" and (address or postcode_):
        return f"household:{name(address or '')}|{place}"
    return None
