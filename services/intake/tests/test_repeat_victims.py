"""The repeat-victim rule is one function, and the recorder's batch and the ORM path read the
same history for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from sqlalchemy import update

from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.intake import complainants, matching, repeat_victims
from casebridge.intake.config import RepeatVictimRule
from casebridge.intake.models import Complaint
from casebridge.intake.schemas.people import Complainant

from .conftest import Intake
from .helpers import complaint, days_ago, imported, log, person

RULE = RepeatVictimRule(complaints=3, months=3)
NOW = datetime(2026, 5, 31, 12, tzinfo=UTC)


def test_window_opens_calendar_months_back_clamped() -> None:
    assert repeat_victims.window_start(RULE, NOW) == datetime(2026, 2, 28, 12, tzinfo=UTC)


def test_complaints_about_one_incident_count_once() -> None:
    since = repeat_victims.window_start(RULE, NOW)
    one, other = uuid4(), uuid4()
    history = [
        repeat_victims.Counted(uuid4(), one, NOW),
        repeat_victims.Counted(uuid4(), one, NOW),
        repeat_victims.Counted(uuid4(), other, NOW),
    ]
    counted = repeat_victims.tally(RULE, since, history)
    assert (counted.incidents, counted.due, len(counted.complaint_ids)) == (2, False, 3)
    third = repeat_victims.Counted(uuid4(), uuid4(), since)  # the window's first instant
    assert repeat_victims.tally(RULE, since, [*history, third]).due
    before = repeat_victims.Counted(uuid4(), uuid4(), since - timedelta(microseconds=1))
    assert not repeat_victims.tally(RULE, since, [*history, before]).due


async def test_batch_and_orm_paths_count_the_same_history(intake: Intake) -> None:
    """The batch reads a log's recent complaints in matching's statement, the ORM path
    through the session: the same complaints, the same tally."""
    p = person(phone="07911 123456")
    first = await log(intake, complaint(complainant=p))
    old = await log(intake, complaint(complainant=p))
    await imported(intake, old, days_ago(200))
    second = await log(intake, complaint(complainant=p))  # two incidents: not marked yet
    async with intake.sessions() as session:  # the second is about the first's incident
        await session.execute(
            update(Complaint)
            .where(Complaint.id == second["id"])
            .values(incident_id=first["incident_id"])
        )
        await session.commit()
    person_id = first["person_id"]
    since = repeat_victims.window_start(RULE, datetime.now(UTC))
    probe = matching.probe(0, DEMO_AREA_ID, Complainant.model_validate(p), since)
    async with intake.sessions() as session:
        orm = await repeat_victims.recent_complaints(session, person_id, since)
        connection = await session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        matched = await matching.match_many(driver, [probe])
    (candidate,) = matched[0].candidates
    batch = complainants._kept(candidate, "attached", candidate).recent
    assert sorted(batch, key=str) == sorted(orm, key=str)
    assert len(orm) == 2  # the imported complaint is before the window
    assert repeat_victims.tally(RULE, since, orm).incidents == 1
    assert repeat_victims.tally(RULE, since, batch) == repeat_victims.tally(RULE, since, orm)
