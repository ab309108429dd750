"""Each area's information-sharing protocol, versioned: a valid document becomes version
n+1 with who published it, when, and the diff from version n (kept append-only and
announced as ProtocolPublished, so every service decides under it); an invalid one changes
nothing and is refused with every problem and its path."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import ScalarSelect

from casebridge.common.auth import Principal
from casebridge.common.contracts.sharing import ProtocolPublished
from casebridge.common.db import utcnow
from casebridge.common.errors import NotFound
from casebridge.common.events import outbox
from casebridge.common.isp import document
from casebridge.common.isp.decide import Policy
from casebridge.sharing.errors import InvalidProtocol
from casebridge.sharing.models import Area, PublishedProtocol
from casebridge.sharing.reads import Rows, json_rows, read_together, uuid_of

JSON_TYPES = ("application/json",)
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")


class ProtocolNotFound(NotFound):
    code = "protocol_not_found"


class AreaNotFound(NotFound):
    code = "area_not_found"


@dataclass(frozen=True)
class Publisher:
    """Who publishes: the client and the person (or system) it acted for."""

    client_id: str
    subject: str
    agency_id: UUID | None

    @classmethod
    def of(cls, principal: Principal) -> Publisher:
        return cls(principal.client_id, principal.subject, principal.agency_id)


def readable_versions(principal: Principal) -> Select[PublishedProtocol]:
    """Every agency of an area may read its protocol, and no other area's."""
    return select(PublishedProtocol).where(PublishedProtocol.area_id == principal.area_id)


def parse(body: bytes, media_type: str) -> document.Protocol:
    """The body as a protocol, or InvalidProtocol with every problem and its path."""
    try:
        if media_type in JSON_TYPES:
            return document.validate(json.loads(body))
        return document.parse(body)
    except ValueError as exc:  # InvalidProtocol, and JSON that does not parse
        problems = getattr(exc, "problems", None)
        if problems is None:
            raise InvalidProtocol([("", f"not JSON: {exc}")]) from exc
        raise InvalidProtocol([(p.path, p.problem) for p in problems]) from exc


async def publish(
    session: AsyncSession,
    *,
    principal: Principal,
    area_id: UUID,
    body: bytes,
    media_type: str,
    today: date,
) -> tuple[PublishedProtocol, bool]:
    """Publish the body as the area's next version; (version, True) when it is new, (the
    current version, False) when the document is the one in force already."""
    area = await session.scalar(
        select(Area).where(Area.id == area_id, Area.id == principal.area_id).with_for_update()
    )
    if area is None:
        raise AreaNotFound(f"no area {area_id} that you administer")
    protocol = parse(body, media_type)
    if protocol.review_date < today:
        raise InvalidProtocol(
            [("review_date", f"{protocol.review_date} is past: nothing would be shared")]
        )
    return await publish_document(session, area=area, protocol=protocol, by=Publisher.of(principal))


async def publish_document(
    session: AsyncSession, *, area: Area, protocol: document.Protocol, by: Publisher
) -> tuple[PublishedProtocol, bool]:
    """Append a valid protocol as the area's next version (the area row locked by the
    caller, so versions follow each other) and announce it."""
    text = document.to_yaml(protocol)
    current = await latest(session, area.id)
    if current is not None and current.text == text:
        return current, False
    number = 1 if current is None else current.version + 1
    before = "" if current is None else current.text
    row = PublishedProtocol(
        area_id=area.id,
        version=number,
        document=protocol.model_dump(mode="json", exclude_none=True),
        text=text,
        diff="".join(
            difflib.unified_diff(
                before.splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=f"version {number - 1}" if current else "/dev/null",
                tofile=f"version {number}",
            )
        ),
        published_at=utcnow(),
        published_by_client=by.client_id,
        published_by_subject=by.subject,
        published_by_agency_id=by.agency_id,
    )
    session.add(row)
    await session.flush()
    outbox.add(
        session,
        ProtocolPublished(
            protocol_version=number,
            document=row.document,
            published_at=row.published_at,
            published_by=by.client_id
            if by.subject == by.client_id
            else f"{by.client_id} ({by.subject})",
        ),
        area_id=area.id,
        aggregate_id=f"{area.id}:{number}",
    )
    return row, True


async def latest(session: AsyncSession, area_id: UUID) -> PublishedProtocol | None:
    return await session.scalar(
        select(PublishedProtocol)
        .where(PublishedProtocol.area_id == area_id)
        .order_by(PublishedProtocol.version.desc())
        .limit(1)
    )


async def current(
    session: AsyncSession, *, principal: Principal, area_id: UUID
) -> PublishedProtocol:
    statement = readable_versions(principal).where(PublishedProtocol.area_id == area_id)
    found = await session.scalar(statement.order_by(PublishedProtocol.version.desc()).limit(1))
    if found is None:
        raise ProtocolNotFound(f"no protocol published for area {area_id} that you can read")
    return found


async def list_versions(
    session: AsyncSession, *, principal: Principal, area_id: UUID, limit: int, before: int | None
) -> tuple[Sequence[PublishedProtocol], int | None]:
    """Newest first; the cursor is the lowest version of the page."""
    if area_id != principal.area_id:
        raise AreaNotFound(f"no area {area_id} whose protocol you can read")
    statement = readable_versions(principal).where(PublishedProtocol.area_id == area_id)
    if before is not None:
        statement = statement.where(PublishedProtocol.version < before)
    rows = list(
        (
            await session.scalars(
                statement.order_by(PublishedProtocol.version.desc()).limit(limit + 1)
            )
        ).all()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].version if more else None


async def get_version(
    session: AsyncSession, *, principal: Principal, area_id: UUID, number: int
) -> PublishedProtocol:
    found = await session.scalar(
        readable_versions(principal).where(
            PublishedProtocol.area_id == area_id, PublishedProtocol.version == number
        )
    )
    if found is None:
        raise ProtocolNotFound(f"no version {number} of area {area_id}'s protocol")
    return found


def heads_read(areas: Iterable[UUID]) -> ScalarSelect[Any]:
    """Each area's latest version and its text's digest, as one read of a batch's
    (`reads.read_together`); the document itself is read once per version per process."""
    return json_rows(
        select(
            PublishedProtocol.area_id,
            PublishedProtocol.version,
            func.md5(PublishedProtocol.text).label("digest"),
        )
        .where(PublishedProtocol.area_id.in_(sorted(set(areas))))
        .ext(distinct_on(PublishedProtocol.area_id))
        .order_by(PublishedProtocol.area_id, PublishedProtocol.version.desc())
    )


async def policies_from(
    session: AsyncSession, rows: Rows, areas: Iterable[UUID]
) -> dict[UUID, Policy | None]:
    """Each area's policy in force from that read (None: nothing published)."""
    found: dict[UUID, Policy | None] = dict.fromkeys(areas)
    for row in rows:
        area_id = uuid_of(row["area_id"])
        found[area_id] = await _policy(session, (area_id, int(row["version"]), row["digest"]))
    return found


async def policy_in_force(session: AsyncSession, area_id: UUID) -> Policy | None:
    """The area's latest version as the decision reads it (None: nothing published). The
    document is read and validated once per version (and text) per process."""
    (rows,) = await read_together(session, heads_read([area_id]))
    return (await policies_from(session, rows, [area_id]))[area_id]


async def _policy(session: AsyncSession, key: tuple[UUID, int, str]) -> Policy:
    found = _POLICIES.get(key)
    if found is None:
        data = await session.scalar(
            select(PublishedProtocol.document).where(
                PublishedProtocol.area_id == key[0], PublishedProtocol.version == key[1]
            )
        )
        found = Policy(key[1], document.Protocol.model_validate(data), key[0])
        _POLICIES[key] = found
    return found


_POLICIES: dict[tuple[UUID, int, str], Policy] = {}
