"""A partner's feed: its own deliveries, oldest first from a cursor, and a long poll that
answers when a delivery for the agency commits (PostgreSQL NOTIFY on commit), not when the
wait runs out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import UUID

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casebridge.common.db import make_engine, make_sessionmaker, new_id
from casebridge.common.isp.document import parse
from casebridge.sharing import deliveries, handlers, protocol
from casebridge.sharing.main import create_app
from casebridge.sharing.models import Agency, Area, Delivery, Disclosure
from casebridge.sharing.settings import Settings
from casebridge.testing.harness import committed_client
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.tokens import TokenFactory

from .conftest import (
    COUNCIL,
    HOUSING,
    POLICE,
    Sharing,
    as_app_role,
    complaint_logged,
    protocol_yaml,
)
from .test_deliveries import log


async def test_the_feed_pages_an_agencys_own_deliveries_oldest_first(
    protocol_v1: Sharing,
) -> None:
    sharing = protocol_v1
    logged = [await log(sharing) for _ in range(3)]
    police = sharing.auth(POLICE)
    first = await sharing.client.get("/feed", params={"limit": 2}, headers=police)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [i["data"]["id"] for i in page["items"]] == [e.data["complaint_id"] for e in logged[:2]]
    positions = [i["position"] for i in page["items"]]
    assert positions == sorted(positions)
    assert page["cursor"] == positions[-1]
    rest = (
        await sharing.client.get("/feed", params={"after": page["cursor"]}, headers=police)
    ).json()
    assert [i["data"]["id"] for i in rest["items"]] == [logged[2].data["complaint_id"]]
    done = await sharing.client.get("/feed", params={"after": rest["cursor"]}, headers=police)
    assert done.json() == {"items": [], "cursor": rest["cursor"]}
    housing = (await sharing.client.get("/feed", headers=sharing.auth(HOUSING))).json()
    assert all(i["subject"].split(".")[2] == str(HOUSING) for i in housing["items"])
    assert len(housing["items"]) == 3
    council = await sharing.client.get("/feed", headers=sharing.auth(COUNCIL))
    assert council.json()["items"] == []  # it logged them: no copy of its own records


@pytest.mark.parametrize(
    "params", [{"wait": 31}, {"wait": -1}, {"after": -1}, {"after": 2**64 + 1}, {"limit": 0}]
)
async def test_the_feed_refuses_bad_input(protocol_v1: Sharing, params: dict[str, int]) -> None:
    response = await protocol_v1.client.get("/feed", params=params, headers=protocol_v1.auth())
    assert response.status_code == 422


@pytest.fixture
async def committed(
    migrated_database: MigratedDatabase, settings: Settings
) -> AsyncIterator[tuple[Settings, async_sessionmaker[AsyncSession], UUID]]:
    """A committed database (NOTIFY is sent on commit) with one area and its protocol."""
    database_url = await migrated_database("sharing")
    settings = settings.model_copy(
        update={"database_url": as_app_role(database_url), "migration_database_url": database_url}
    )
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    area = new_id()
    async with sessions() as session:
        row = Area(id=area, code=str(area)[-6:], name="Feed test area")
        session.add(row)
        await session.flush()
        for agency_id, kind in ((COUNCIL, "council"), (POLICE, "police")):
            session.add(Agency(id=agency_id, area_id=area, name=kind, kind=kind, core_partner=True))
        await protocol.publish_document(
            session,
            area=row,
            protocol=parse(protocol_yaml()),
            by=protocol.Publisher("feed-test", "feed-test", None),
        )
        await session.commit()
    yield settings, sessions, area
    await engine.dispose()


async def test_a_long_poll_answers_when_a_delivery_commits(
    committed: tuple[Settings, async_sessionmaker[AsyncSession], UUID], tokens: TokenFactory
) -> None:
    settings, sessions, area = committed
    headers = tokens.headers(
        scopes=["shares:read"],
        agency_id=POLICE,
        area_id=area,
        audience=settings.audience_or_default(),
    )
    async with committed_client(create_app, settings, tokens) as client:
        quiet = await client.get("/feed", params={"wait": 0.2}, headers=headers)
        assert quiet.json() == {"items": [], "cursor": 0}  # the wait ran out: nothing
        # The longest wait allowed: an answer before it runs out can only be the wake-up
        # (the request may register before or after the commit: either way it sees it).
        waiting = asyncio.create_task(client.get("/feed", params={"wait": 30}, headers=headers))
        envelope, event = complaint_logged(receiving=COUNCIL, area_id=area)
        async with sessions() as session:
            await deliveries.share(session, envelope=envelope, event=event)
            await session.commit()
        answer = await asyncio.wait_for(waiting, timeout=25)
    page = answer.json()
    assert [i["data"]["reference"] for i in page["items"]] == [event.reference]
    assert page["cursor"] == page["items"][0]["position"]


async def test_a_writer_numbers_its_deliveries_only_after_an_earlier_one_commits(
    committed: tuple[Settings, async_sessionmaker[AsyncSession], UUID],
) -> None:
    """The feed's lock is taken by the statement that writes the deliveries and held to the
    commit: a second writer waits, and its delivery comes after the first's in the feed, so a
    cursor never passes a row that commits late."""
    _, sessions, area = committed
    first, second = (
        complaint_logged(
            receiving=COUNCIL,
            area_id=area,
            complaint_id=new_id(),
            reference=f"DMO-2026-{new_id().hex[-6:]}-{n}",
        )
        for n in (1, 2)
    )

    async def share_and_commit() -> None:
        async with sessions() as session:
            await handlers.on_shareable_batch(session, [second])
            await session.commit()

    async with sessions() as session:
        await handlers.on_shareable_batch(session, [first])
        waiting = asyncio.create_task(share_and_commit())
        await asyncio.sleep(0.5)
        assert not waiting.done()  # held back by the first writer's lock
        await session.commit()
    await asyncio.wait_for(waiting, timeout=10)
    async with sessions() as session:
        rows = await session.execute(
            select(Disclosure.source_event_id)
            .join(Delivery, Delivery.disclosure_id == Disclosure.id)
            .where(Delivery.area_id == area)
            .order_by(Delivery.seq)
        )
        events = list(rows.scalars())
    assert events == [first[0].id, second[0].id]
