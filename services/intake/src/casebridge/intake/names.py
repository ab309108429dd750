"""Name variants: the same person written another way, so a second log is not made for
them without a word to the handler (Home Office principle 1: one log per individual).

Matching finds people through indexes only: `surname_key` (the surname's sound) is a
column with its own index, and a person with the same surname key and the same date of
birth or postcode comes back as a candidate. `variant` then says, in Python, whether the
two names may be one person: the same surname (by sound, or a typo apart) and forenames
that are the same, nicknames of each other (the `nicknames` dataset: Bob / Robert), sound
alike (metaphone or NYSIIS, from `jellyfish`: Mohammed / Muhammad, Katherine / Catherine),
are a typo apart (Damerau-Levenshtein), or one is the other's initial. Such a candidate is
only ever offered (409 person_match_uncertain); it is never attached without the handler.
"""

from __future__ import annotations

from functools import cache

import jellyfish
from nicknames import NickNamer

_NICKNAMES = NickNamer()


def words(name_norm: str) -> list[str]:
    """The alphabetic words of a normalised name (`normalise.name`); numbers are left out."""
    return [word for word in name_norm.split() if word.isalpha()]


def surname_key(name_norm: str) -> str | None:
    """The sound of the last word of the name (metaphone): Smith and Smyth are `SM0`."""
    found = words(name_norm)
    if not found:
        return None
    return jellyfish.metaphone(found[-1])[:60] or None


@cache
def _nicknames(word: str) -> frozenset[str]:
    return frozenset(_NICKNAMES.nicknames_of(word))


@cache
def _canonicals(word: str) -> frozenset[str]:
    return frozenset(_NICKNAMES.canonicals_of(word))


def _nickname_related(a: str, b: str) -> bool:
    """One is a nickname of the other, or both are nicknames of one name (Bob, Rob:
    Robert); two names sharing a nickname (Christine, Christopher: Chris) are not."""
    return b in _nicknames(a) or a in _nicknames(b) or bool(_canonicals(a) & _canonicals(b))


_VOWELS = frozenset("aeiouy")


def _first_vowel(word: str) -> str:
    return next((c for c in word if c in _VOWELS), "")


def _sound_alike(a: str, b: str, *, forename: bool = False) -> bool:
    """Metaphone or NYSIIS agree. A short forename's vowel is what tells it apart (Tom,
    Tim; James, John sound alike to NYSIIS): there the first vowels must agree too."""
    codes_agree = jellyfish.metaphone(a) == jellyfish.metaphone(b) or (
        jellyfish.nysiis(a) == jellyfish.nysiis(b)
    )
    if not codes_agree or not forename:
        return codes_agree
    return min(len(a), len(b)) >= 6 or _first_vowel(a) == _first_vowel(b)


def _typo_apart(a: str, b: str) -> bool:
    """One slip (a letter wrong, missing, extra, or two swapped), or two in a long word;
    short words must be spelt alike (Ann / Ian are not a typo)."""
    shorter = min(len(a), len(b))
    if shorter < 4:
        return False
    allowed = 2 if shorter >= 8 else 1
    return jellyfish.damerau_levenshtein_distance(a, b) <= allowed


def _surnames_alike(a: str, b: str) -> bool:
    return a == b or _sound_alike(a, b) or _typo_apart(a, b)


def _forenames_alike(a: str, b: str) -> bool:
    if a == b:
        return True
    if len(a) == 1 or len(b) == 1:  # an initial: R. Smith may be Robert Smith
        return a[0] == b[0]
    if _nickname_related(a, b):
        return True
    return _sound_alike(a, b, forename=True) or _typo_apart(a, b)


def variant(a_norm: str, b_norm: str) -> bool:
    """Two different normalised names that may belong to one person (middle names aside)."""
    a, b = words(a_norm), words(b_norm)
    if not a or not b or a == b:
        return False
    if not _surnames_alike(a[-1], b[-1]):
        return False
    if len(a) == 1 or len(b) == 1:  # a surname alone (a business, a mononym) says no more
        return len(a) == len(b)
    return _forenames_alike(a[0], b[0])
