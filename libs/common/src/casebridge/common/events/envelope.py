"""CloudEvents 1.0 envelope around a versioned contract."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from casebridge.common.db import new_id, utcnow


class Contract(BaseModel):
    """An event payload. Additive-only; a breaking change is a new class with version + 1.

    `source` is the producing service, `name` the event name; the NATS subject is
    `<source>.<area>.<name>.v<version>`.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    source: ClassVar[str]
    name: ClassVar[str]
    version: ClassVar[int] = 1
    aggregate_type: ClassVar[str]

    @classmethod
    def event_type(cls) -> str:
        return f"{cls.source}.{cls.name}.v{cls.version}"

    @classmethod
    def subject_for(cls, area_id: UUID | str) -> str:
        return f"{cls.source}.{area_id}.{cls.name}.v{cls.version}"


class Envelope(BaseModel):
    """CloudEvents attributes plus `area_id`; `data` is the contract's JSON."""

    model_config = ConfigDict(extra="ignore")

    specversion: str = "1.0"
    id: UUID = Field(default_factory=new_id)
    source: str
    type: str
    subject: str
    time: datetime = Field(default_factory=utcnow)
    datacontenttype: str = "application/json"
    area_id: UUID
    data: dict[str, Any]


_REGISTRY: dict[str, type[Contract]] = {}


def register(contract: type[Contract]) -> type[Contract]:
    """Class decorator: make a contract parseable by its event type."""
    _REGISTRY[contract.event_type()] = contract
    return contract


def contract_for(event_type: str) -> type[Contract] | None:
    return _REGISTRY.get(event_type)


def registered() -> dict[str, type[Contract]]:
    return dict(_REGISTRY)
