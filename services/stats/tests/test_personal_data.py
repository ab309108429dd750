"""LEG-R8: the stats database holds no personal data. Two proofs: no column could hold it
(by name and by type), and no personal value of the events stats consumes is stored."""

from __future__ import annotations

import itertools
import types
import typing
import uuid
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    ARRAY,
    JSON,
    Boolean,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    Uuid,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB

from casebridge.common.events.envelope import Contract, contract_for
from casebridge.common.events.models import EventBase
from casebridge.stats.models import READ_MODELS, Base
from casebridge.stats.settings import Settings
from casebridge.stats.worker import CONSUMED, consumers

from .conftest import Stats
from .events import envelope

PERSONAL_WORDS = (
    "name", "email", "phone", "address", "postcode", "person", "people", "reference", "description",
    "narrative", "summary", "minutes", "note", "text", "reason", "contact", "birth", "dob", "uprn",
    "latitude", "longitude", "complaint_id", "incident", "applicant", "perpetrator", "witness",
    "victim_id",
)  # fmt: skip
# Ids that name a place, an agency or a case (not a person), kept to count once per case.
ALLOWED_IDS = {"area_id", "agency_id", "review_id", "trigger_id"}
# The one place finer than a category: the postcode district (outward code), at most 8 chars.
ALLOWED_NAMED = {("complaint_district_count", "postcode_district")}
SAFE_TYPES = (Boolean, Date, DateTime, Integer, SmallInteger)
# Event infrastructure every service has. Stats publishes nothing (its outbox stays empty);
# its dead letters keep no payload (`keep_payloads=False`, tested below).
INFRASTRUCTURE = {
    "outbox_message": {"id", "subject", "event_type", "aggregate_type", "aggregate_id", "payload",
                       "created_at", "attempts", "next_attempt_at", "acquired_token",
                       "acquired_at", "last_error"},
    "processed_message": {"consumer_name", "message_id", "processed_at"},
    "dead_letter": {"id", "direction", "consumer_name", "message_id", "subject", "payload", "raw",
                    "reason", "deliveries", "created_at"},
}  # fmt: skip


def why_personal(table: str, column: Any) -> str | None:
    name, kind = column.name, column.type
    if (table, name) in ALLOWED_NAMED:
        return None if isinstance(kind, String) and (kind.length or 99) <= 8 else "too long"
    if any(word in name for word in PERSONAL_WORDS):
        return f"its name ({name}) says personal data"
    if isinstance(kind, (Text, JSON, JSONB, ARRAY, LargeBinary)):
        return f"its type {kind} can hold free text or documents"
    if isinstance(kind, Uuid):
        return None if name in ALLOWED_IDS else f"an id ({name}) that may name a person"
    if isinstance(kind, String):
        return None if (kind.length or 10_000) <= 60 else f"{kind} is long enough for free text"
    if isinstance(kind, SAFE_TYPES):
        return None
    return f"type {kind} is not known to be safe"


def test_no_stats_table_has_a_column_that_could_hold_personal_data() -> None:
    found = []
    tables = [*Base.metadata.sorted_tables, *EventBase.metadata.sorted_tables]
    for table in tables:
        if table.name in INFRASTRUCTURE:
            assert {c.name for c in table.columns} == INFRASTRUCTURE[table.name], table.name
            continue
        found += [
            f"{table.name}.{c.name}: {why}"
            for c in table.columns
            if (why := why_personal(table.name, c))
        ]
    assert not found, found
    assert {m.__tablename__ for m in READ_MODELS} | set(INFRASTRUCTURE) == {t.name for t in tables}


def test_the_check_catches_a_personal_column() -> None:
    from sqlalchemy import Column

    for column in (
        Column("person_id", Uuid()), Column("postcode", String(8)), Column("notes", Text()),
        Column("detail", String(200)), Column("complaint_id", Uuid()),
    ):  # fmt: skip
        assert why_personal("review_fact", column) is not None, column.name


counter = itertools.count(1)


def _value(annotation: Any, field: str) -> Any:
    """A distinctive value for a field: a fresh UUID, or a marker string that must never be
    found in the stats database unless stats may store that field."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        origin = typing.get_origin(annotation)
    if origin is list:
        return [_value(typing.get_args(annotation)[0], field)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation.model_validate(
            {k: _value(f.annotation, k) for k, f in annotation.model_fields.items()}
        )
    if annotation is uuid.UUID:
        return uuid.uuid4()
    if annotation is datetime:
        return datetime(2026, 5, next(counter) % 28 + 1, 10, tzinfo=UTC)
    if annotation is date:
        return date(2026, 5, 1)
    if annotation is bool:
        return True
    if annotation is int:
        return 7000 + next(counter)
    if field == "postcode":
        return "ZZ9 9ZZ"
    return f"mk{next(counter)}{field[:4]}"  # short: fits every category column


def specimen(contract: type[Contract]) -> Contract:
    hints = typing.get_type_hints(contract)
    return contract.model_validate({k: _value(hints[k], k) for k in contract.model_fields})


# What stats may keep of each event (categories, dates, counts, agency and case ids).
MAY_STORE = {
    "receiving_agency_id", "recipient_agency_id", "agency_id", "lead_agency_id",
    "channel", "nsir_category", "asb_type", "hate_motivated", "band", "kind", "stage", "outcome",
    "review_id", "trigger_id", "recommendations", "automatic", "met", "action", "to_state",
}  # fmt: skip


async def stored_text(stats: Stats) -> str:
    async with stats.sessions() as session:
        parts = []
        for model in READ_MODELS:
            for row in (await session.execute(select(model.__table__))).all():
                parts.append(" ".join(str(v) for v in row))
        return "\n".join(parts)


async def test_no_personal_value_of_a_consumed_event_is_stored(stats: Stats) -> None:
    handled = [c for _, (_, contracts) in CONSUMED.items() for c in contracts]
    assert handled, "stats consumes events"
    for contract in handled:
        event = specimen(contract)
        assert await stats.deliver(envelope(event, stats.area)) == [True], contract
        stored = await stored_text(stats)
        for name, value in event.model_dump().items():
            if name in MAY_STORE or name == "area_id":
                continue
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, (uuid.UUID, str)) or (isinstance(item, int) and item > 7000):
                    assert str(item) not in stored, f"{contract.__name__}.{name} is stored"
        assert not any(
            word in name for name in MAY_STORE for word in ("person", "postcode", "name")
        )


async def test_stats_consumers_keep_no_payload_in_dead_letters() -> None:
    assert all(not c.keep_payloads for c in consumers(Settings()))
    assert contract_for("intake.complaint.logged.v1") is not None
