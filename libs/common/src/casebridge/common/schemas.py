"""Base for every request and response model: strict, storable, bounded."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Generic, TypeVar
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from casebridge.common.pagination import PageSize
from casebridge.common.wire import strict_on_the_wire

T = TypeVar("T")

# Largest integer PostgreSQL's INTEGER accepts: bound every int from outside with it.
INT32_MAX = 2**31 - 1


_CONTAINERS = (list, tuple, set, frozenset)
# A lone UTF-16 surrogate (JSON allows "\ud800") has no UTF-8 form: PostgreSQL cannot store it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable(value: str) -> str | None:
    """Why PostgreSQL could not store the text (None: it can)."""
    if "\x00" in value:
        return "must not contain NUL characters"
    if not value.isascii() and _SURROGATE.search(value):
        return "must not contain lone surrogates (not Unicode text)"
    return None


def _reject_nul(value: Any) -> Any:
    # Exact type checks: this runs for every field of every input model, and most values
    # (numbers, enums, dates, nested models) are none of these.
    kind = type(value)
    if kind is str:
        if (reason := unstorable(value)) is not None:
            raise ValueError(reason)
    elif kind in _CONTAINERS:
        for item in value:
            _reject_nul(item)
    elif kind is dict:
        for key, item in value.items():
            _reject_nul(key)
            _reject_nul(item)
    return value


class Schema(BaseModel):
    """Input models forbid unknown fields (mass assignment), NUL bytes and lone surrogates
    (PostgreSQL rejects them, so they must be a 422 at the edge, not a 500 at the database),
    and take JSON's own types only: `true` not "true", `3` not "3", a date as ISO 8601 text
    and never a number (`casebridge.common.wire`)."""

    model_config = ConfigDict(extra="forbid", str_max_length=10_000, from_attributes=True)
    # A model read from a query string (`QueryParams`) reads numbers and booleans from text.
    _from_query: ClassVar[bool] = False

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[BaseModel], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        # While Schema itself is being made, its name is not bound yet.
        owner = globals().get("Schema", cls)
        return strict_on_the_wire(handler(source), query=cls._from_query, owner=owner)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return _reject_nul(value)


class QueryParams(Schema):
    """A model of query parameters (`Annotated[Model, Query()]`): the query string is text,
    so numbers are read from digits and booleans from the words true and false only."""

    _from_query: ClassVar[bool] = True


class Patch(Schema):
    """A partial update: a field left out keeps its value, and null is refused (saying so)
    rather than silently ignored. The fields are typed `X | None = None` for Python; the
    schema documents them without null."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_null(cls, value: Any, info: ValidationInfo) -> Any:
        # Runs only for fields the request gave: one left out keeps its default.
        if value is None:
            raise PydanticCustomError(
                "null_refused",
                "{field} cannot be cleared: leave it out to keep its value",
                {"field": info.field_name},
            )
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core)
        target = handler.resolve_ref_schema(schema)
        for prop in target.get("properties", {}).values():
            variants = prop.get("anyOf")
            if variants:
                kept = [v for v in variants if v.get("type") != "null"]
                prop.pop("anyOf")
                prop.update(kept[0] if len(kept) == 1 else {"anyOf": kept})
            prop.pop("default", None)
        return schema


class ReadSchema(BaseModel):
    """Response models: made from rows the service wrote after validating them, so they
    carry none of the input checks (which cost CPU on every response)."""

    model_config = ConfigDict(from_attributes=True)


class SharedView(ReadSchema):
    """A record as one caller may see it: the fields the area's information-sharing protocol
    grants that caller, and only those. Every field is optional; a field not granted is
    absent from the JSON (serialise with `exclude_unset`), a field the protocol redacts is
    null and named in `redacted_fields`."""

    redacted_fields: list[str] | None = Field(
        default=None, description="fields withheld by the information-sharing protocol"
    )


ShortText = Annotated[str, Field(min_length=1, max_length=200)]
# The page size a list accepts: the one definition is casebridge.common.pagination's.
Limit = PageSize


class Page(Schema, Generic[T]):
    """A page of results with an opaque cursor for the next one."""

    items: list[T]
    next_cursor: str | None = None


async def storable_url(request: Request) -> None:
    """Every route's first dependency: a path or query string PostgreSQL could not store
    (NUL, bytes that are not UTF-8) is a 422 naming it, before any parameter reaches a
    query. Routes' own parameters are plain values, not `Schema` fields, so this is the
    one place that sees them all."""
    if "\x00" in request.scope["path"]:
        raise RequestValidationError(
            [{"loc": ("path",), "msg": "must not contain NUL characters", "type": "value_error"}]
        )
    raw = request.scope.get("query_string", b"")
    if not raw:
        return
    try:
        pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise RequestValidationError(
            [{"loc": ("query",), "msg": "must be UTF-8 text", "type": "value_error"}]
        ) from None
    for name, value in pairs:
        if (reason := unstorable(name) or unstorable(value)) is not None:
            raise RequestValidationError(
                [{"loc": ("query", name.replace("\x00", "")), "msg": reason, "type": "value_error"}]
            )
