from __future__ import annotations

import asyncio
from datetime import date, timedelta

from sqlalchemy import func, select

from casebridge.common.db import make_engine, make_sessionmaker, new_id
from casebridge.common.events.connection import NatsLink
from casebridge.common.events.consumer import ConsumerRunner
from casebridge.devstack import NatsServer
from casebridge.review.handlers import intake_consumer
from casebridge.review.models import IndexedComplaint, ProcessedMessage
from casebridge.review.rules import qualifies
from casebridge.review.settings import Settings
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.poll import poll

from .conftest import Review
from .events import complaint, deliver, envelope


async def test_complaint_logged_is_indexed_with_its_qualification(review: Review) -> None:
    person = new_id()
    event = complaint(person, postcode="sw1a 1aa", perpetrator_keys=["hh:12", "hh:12"])
    late = complaint(person, after_behaviour=timedelta(weeks=5))
    assert await deliver(review.sessions, event)
    assert await deliver(review.sessions, late)
    async with review.sessions() as session:
        row = await session.get(IndexedComplaint, event.complaint_id)
        late_row = await session.get(IndexedComplaint, late.complaint_id)
    assert row is not None
    assert late_row is not None
    assert row.place_key == "SW1A1AA"
    assert row.perpetrator_keys == ["hh:12"]
    assert qualifies(row) is True
    assert qualifies(late_row) is False  # five weeks after the behaviour
    assert (row.occurred_on, row.reported_on) == (date(2026, 11, 1), date(2026, 11, 2))


async def test_complaint_logged_twice_is_indexed_once(review: Review) -> None:
    event = complaint(new_id())
    event_id = new_id()
    assert await deliver(review.sessions, event, event_id=event_id) is True
    assert await deliver(review.sessions, event, event_id=event_id) is False  # inbox
    assert await deliver(review.sessions, event) is True  # re-emitted: ON CONFLICT
    async with review.sessions() as session:
        query = select(func.count()).select_from(IndexedComplaint)
        assert await session.scalar(query) == 1


async def test_consumer_indexes_from_jetstream_despite_redelivery(
    migrated_database: MigratedDatabase, own_nats: NatsServer
) -> None:
    # A server of its own: the durable consumer must not meet other tests' messages.
    settings = Settings(
        database_url=await migrated_database("review"), nats_url=own_nats.url, log_json=False
    )
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    link = NatsLink(settings.nats_url, name="test-review")
    await link.connect()
    event = complaint(new_id())
    body = envelope(event).model_dump_json().encode()
    for _ in range(2):  # two publishes of one event: JetStream ids differ, the event id does not
        await link.js.publish(
            event.subject_for(event.area_id), body, headers={"Nats-Msg-Id": str(new_id())}
        )
    stop = asyncio.Event()
    runner = ConsumerRunner(intake_consumer(), link, sessions, fetch_timeout=0.2)
    task = asyncio.create_task(runner.run(stop))

    async def applied_once() -> bool:
        async with sessions() as session:
            seen = await session.scalar(select(func.count()).select_from(ProcessedMessage))
            rows = await session.scalar(select(func.count()).select_from(IndexedComplaint))
        return (seen, rows) == (1, 1)

    try:
        await poll(applied_once, timeout=10)
    finally:
        stop.set()
        await task
        await link.close()
        await engine.dispose()
