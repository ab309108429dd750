"""Base for every request and response model: strict, NUL-free, bounded."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

T = TypeVar("T")

# Largest integer PostgreSQL's INTEGER accepts: bound every int from outside with it.
INT32_MAX = 2**31 - 1


_CONTAINERS = (list, tuple, set, frozenset)


def _reject_nul(value: Any) -> Any:
    # Exact type checks: this runs for every field of every input model, and most values
    # (numbers, enums, dates, nested models) are none of these.
    kind = type(value)
    if kind is str:
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
    elif kind in _CONTAINERS:
        for item in value:
            _reject_nul(item)
    elif kind is dict:
        for key, item in value.items():
            _reject_nul(key)
            _reject_nul(item)
    return value


class Schema(BaseModel):
    """Input models forbid unknown fields (mass assignment) and NUL bytes (PostgreSQL rejects
    them, so they must be a 422 at the edge, not a 500 at the database)."""

    model_config = ConfigDict(extra="forbid", str_max_length=10_000, from_attributes=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return _reject_nul(value)


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
Limit = Annotated[int, Field(ge=1, le=100, description="Page size (at most 100)")]


class Page(Schema, Generic[T]):
    """A page of results with an opaque cursor for the next one."""

    items: list[T]
    next_cursor: str | None = None
