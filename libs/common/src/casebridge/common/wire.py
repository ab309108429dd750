"""Values as they travel: a JSON body says `true`, not "true"; `3`, not "3" or 3.0; a date is
ISO 8601 text, never a number. Pydantic's lax mode converts all of these (and a number as a
date means seconds since 1970), so an input model's validation is tightened here once, for
every field of every `Schema`, instead of per field.

Query strings are text by nature: a query model (`QueryParams`) reads numbers from digits
and booleans only from `true`/`false`, and a date there is never a number either."""

from __future__ import annotations

import copy
import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator
from pydantic_core import CoreSchema, core_schema

_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
_TIMES = ("datetime", "date", "time", "timedelta")
_NUMBERS = ("int", "float", "decimal")


def not_a_number(value: Any) -> Any:
    """A date or time given as a number (or digits) is refused, not read as epoch seconds."""
    if type(value) in (int, float, bool) or (type(value) is str and _NUMBER.fullmatch(value)):
        raise ValueError("must be ISO 8601 text, not a number")
    return value


def true_or_false(value: Any) -> Any:
    """A boolean in a query string: the words true and false only (not yes, on, 1, t...)."""
    if type(value) is str:
        if value not in ("true", "false"):
            raise ValueError("must be true or false")
        return value == "true"
    return value


def strict_on_the_wire(schema: CoreSchema, *, query: bool, owner: type) -> CoreSchema:
    """A copy of a model's core schema with booleans, numbers and dates tightened. Models
    nested inside that are not input models of ours keep their own rules."""
    return _tighten(copy.deepcopy(schema), query=query, owner=owner)  # type: ignore[no-any-return]


def _tighten(node: Any, *, query: bool, owner: type) -> Any:
    if isinstance(node, list):
        return [_tighten(item, query=query, owner=owner) for item in node]
    if not isinstance(node, dict):
        return node
    kind = node.get("type")
    cls = node.get("cls")
    if kind == "model" and isinstance(cls, type) and not issubclass(cls, owner):
        return node  # a response or foreign model: not ours to tighten
    for key, value in node.items():
        if isinstance(value, dict | list):
            node[key] = _tighten(value, query=query, owner=owner)
    if kind == "bool":
        node["strict"] = True
        if query:
            return core_schema.no_info_before_validator_function(true_or_false, node)
    elif kind in _NUMBERS and not query:
        node["strict"] = True
    elif kind in _TIMES:
        return core_schema.no_info_before_validator_function(not_a_number, node)
    return node


# For route parameters outside any model (a query's `reported_from`).
Timestamp = Annotated[AwareDatetime, BeforeValidator(not_a_number)]
Day = Annotated[date, BeforeValidator(not_a_number)]
NaiveOrAware = Annotated[datetime, BeforeValidator(not_a_number)]
