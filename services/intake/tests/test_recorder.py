"""The recorder: complaints of the same moment share a transaction, and fail alone.

These tests commit for real, on a database of their own (the rollback client's single
connection cannot carry two transactions at once)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import Response
from sqlalchemy import func, select, text

from casebridge.common.auth import Principal
from casebridge.common.db import make_engine, make_sessionmaker
from casebridge.common.events.models import OutboxMessage
from casebridge.devstack import NatsServer
from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.intake.complaints import Draft, LoggedComplaint, log_complaints, preflight
from casebridge.intake.main import create_app
from casebridge.intake.models import (
    Complaint,
    IdempotencyRecord,
    Person,
    PersonVulnerability,
    RiskAssessment,
)
from casebridge.intake.recorder import Recorder
from casebridge.intake.schemas.complaints import ComplaintCreate
from casebridge.intake.settings import Settings
from casebridge.testing.harness import committed_client
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.tokens import TokenFactory

from .conftest import ALL_SCOPES, COUNCIL, Intake, seed_areas
from .helpers import complaint, count


@pytest.fixture(params=[1, 3], ids=["one-loop", "three-loops"])
async def committed(
    request: pytest.FixtureRequest,
    migrated_database: MigratedDatabase,
    nats_server: NatsServer,
    tokens: TokenFactory,
) -> AsyncIterator[tuple[Intake, Any]]:
    """A committing app whose recorder runs one transaction at a time, or three."""
    url = await migrated_database("intake")
    settings = Settings(
        database_url=url,
        nats_url=nats_server.url,
        log_json=False,
        recorder_concurrency=request.param,
    )
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        await seed_areas(session)
        await session.commit()
    app = create_app(settings)
    async with committed_client(lambda _: app, settings, tokens) as client:
        yield (
            Intake(client, sessions, tokens, settings, ALL_SCOPES, COUNCIL, DEMO_AREA_ID),
            app,
        )
    await engine.dispose()


def caller_body(n: int) -> dict[str, Any]:
    """A complaint from the n-th of many different new complainants."""
    details = {"name": f"Caller {n}", "email": f"caller{n}@example.org"}
    return complaint(complainant={"details": details, "match": "new"})


async def test_complaints_of_one_moment_share_a_transaction(
    committed: tuple[Intake, Any],
) -> None:
    intake, app = committed
    recorder: Recorder = app.state.recorder
    answers = await asyncio.gather(
        *(
            intake.client.post("/complaints", json=caller_body(n), headers=intake.auth())
            for n in range(40)
        )
    )
    assert [a.status_code for a in answers] == [201] * 40
    references = {a.json()["reference"] for a in answers}
    assert len(references) == 40
    assert recorder.batches < 40  # some shared a commit
    assert await count(intake, Complaint) == 40
    assert await count(intake, Person) == 40
    assert await count(intake, OutboxMessage) == 40


async def test_a_complaint_that_cannot_be_logged_fails_alone(
    committed: tuple[Intake, Any],
) -> None:
    intake, _ = committed
    first = await intake.client.post("/complaints", json=complaint(), headers=intake.auth())
    assert first.status_code == 201
    # Same name and postcode, nothing strong: an uncertain match, in the middle of others.
    uncertain = complaint(complainant={"details": {"name": "Ann Example", "postcode": "SW1A 1AA"}})
    key = {**intake.auth(), "Idempotency-Key": "uncertain-1"}
    bodies = [caller_body(n) for n in range(10)]
    answers = await asyncio.gather(
        *(intake.client.post("/complaints", json=b, headers=intake.auth()) for b in bodies[:5]),
        intake.client.post("/complaints", json=uncertain, headers=key),
        *(intake.client.post("/complaints", json=b, headers=intake.auth()) for b in bodies[5:]),
    )
    statuses = [a.status_code for a in answers]
    assert statuses == [201] * 5 + [409] + [201] * 5
    assert answers[5].json()["error"] == "person_match_uncertain"
    assert await count(intake, Complaint) == 11
    # Its key was released with it: the handler's corrected retry is a first attempt.
    assert await count(intake, IdempotencyRecord) == 0
    chosen = complaint(complainant={"person_id": first.json()["person_id"]})
    retry = await intake.client.post("/complaints", json=chosen, headers=key)
    assert retry.status_code == 201, retry.text
    assert retry.json()["match"] == "chosen"


async def test_the_same_key_at_the_same_moment_logs_once(
    committed: tuple[Intake, Any],
) -> None:
    intake, _ = committed
    headers = {**intake.auth(), "Idempotency-Key": "double-click"}
    answers = await asyncio.gather(
        *(intake.client.post("/complaints", json=complaint(), headers=headers) for _ in range(5))
    )
    assert [a.status_code for a in answers] == [201] * 5
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 4
    assert await count(intake, Complaint) == 1


def draft(n: int, respond: Any = None) -> Draft:
    principal = Principal(
        subject="handler", client_id="desk", agency_id=COUNCIL, area_id=DEMO_AREA_ID,
        scopes=frozenset({"complaints:write"}),
    )  # fmt: skip

    def created(logged: LoggedComplaint, _how: str | None) -> Response:
        return Response(logged.reference, status_code=201)

    return Draft(principal, ComplaintCreate.model_validate(caller_body(n)), respond or created)


async def test_a_batch_that_breaks_is_retried_one_complaint_at_a_time(
    committed: tuple[Intake, Any],
) -> None:
    """A failure that is not a complaint's own (here a bug in one caller's response) fails
    that complaint alone, and the rest of its batch is logged."""
    intake, app = committed
    recorder: Recorder = app.state.recorder

    def broken(_logged: LoggedComplaint, _how: str | None) -> Response:
        raise RuntimeError("a bug in this caller's presenter")

    drafts = [draft(n) for n in range(6)] + [draft(6, broken)] + [draft(n) for n in range(7, 12)]
    answers = await asyncio.gather(*(recorder.log(d) for d in drafts), return_exceptions=True)
    assert isinstance(answers.pop(6), RuntimeError)
    assert all(isinstance(a, Response) and a.status_code == 201 for a in answers)
    assert await count(intake, Complaint) == 11


async def test_a_caller_that_hangs_up_still_has_its_complaint_logged(
    committed: tuple[Intake, Any],
) -> None:
    intake, app = committed
    recorder: Recorder = app.state.recorder
    waiting = asyncio.create_task(recorder.log(draft(1)))
    await asyncio.sleep(0)  # handed over
    waiting.cancel()
    await recorder.stop()  # logs what was handed over, then stops
    async with intake.sessions() as session:
        logged = await session.scalar(select(func.count()).select_from(Complaint))
    assert logged == 1
    recorder.start()


async def test_complaints_crossing_the_repeat_victim_rule_together_mark_once(
    committed: tuple[Intake, Any],
) -> None:
    intake, _ = committed
    caller = complaint(complainant={"details": {"name": "Ann Example", "phone": "07911 123456"}})
    for _ in range(2):
        assert (
            await intake.client.post("/complaints", json=caller, headers=intake.auth())
        ).status_code == 201
    answers = await asyncio.gather(
        *(intake.client.post("/complaints", json=caller, headers=intake.auth()) for _ in range(3))
    )
    assert [a.status_code for a in answers] == [201] * 3
    async with intake.sessions() as session:
        marks = list(
            await session.scalars(
                select(OutboxMessage.payload).where(
                    OutboxMessage.event_type == "intake.person.repeat_victim_marked.v1"
                )
            )
        )
    assert len(marks) == 1
    assert marks[0]["data"]["incidents"] == 3


async def test_two_calls_about_one_new_complainant_at_once_make_one_log(
    committed: tuple[Intake, Any],
) -> None:
    """Police and council log the same new caller at the same moment: one log, not two."""
    intake, app = committed
    recorder: Recorder = app.state.recorder
    details = {"name": "Ann Newcomer", "phone": "07911 123456", "match": "ask"}

    def call(agency_reference: str) -> Draft:
        body = complaint(
            complainant={"details": {k: v for k, v in details.items() if k != "match"}},
            agency_references=[{"agency_id": str(COUNCIL), "reference": agency_reference}],
        )
        return Draft(draft(0).principal, ComplaintCreate.model_validate(body), draft(0).respond)

    # One batch, as the recorder makes it when both calls arrive while it is idle.
    drafts = [call("CNL-1"), call("CNL-2")]
    async with intake.sessions() as session:
        checked = await preflight(session, drafts, recorder.partners)
    async with intake.sessions() as session:
        connection = await session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        async with driver.transaction():
            answers = await log_complaints(session, driver, drafts, recorder.areas, checked)
            await session.commit()
    assert [getattr(a, "status_code", a) for a in answers] == [201, 201]
    assert await count(intake, Person) == 1
    assert await count(intake, Complaint) == 2


async def test_orm_steps_commit_with_the_batch_write(committed: tuple[Intake, Any]) -> None:
    """Without idempotency keys a batch runs without BEGIN/COMMIT of its own; a chosen log
    and a completed one (the ORM's steps) still commit with the complaints."""
    intake, _ = committed
    caller = {"name": "Ann Example", "phone": "07911 123456"}
    first = await intake.client.post(
        "/complaints", json=complaint(complainant={"details": caller}), headers=intake.auth()
    )
    assert first.status_code == 201
    person_id = first.json()["person_id"]
    completed = {**caller, "date_of_birth": "1970-05-01"}
    answers = await asyncio.gather(
        intake.client.post(
            "/complaints", json=complaint(complainant={"details": completed}), headers=intake.auth()
        ),
        intake.client.post(
            "/complaints",
            json=complaint(complainant={"person_id": person_id}),
            headers=intake.auth(),
        ),
    )
    assert [a.status_code for a in answers] == [201, 201]
    assert [a.json()["match"] for a in answers] == ["attached", "chosen"]
    async with intake.sessions() as session:
        person = await session.get(Person, person_id)
        assert person is not None
        assert str(person.date_of_birth) == "1970-05-01"
    assert await count(intake, Complaint) == 3


async def test_a_connection_lost_between_batches_is_replaced(
    committed: tuple[Intake, Any],
) -> None:
    """The recorder keeps its connection between batches. When the server ends it, the
    next batch connects again: the complaint is logged, at worst after one 503."""
    intake, _ = committed
    first = await intake.client.post("/complaints", json=caller_body(1), headers=intake.auth())
    assert first.status_code == 201
    async with intake.sessions() as session:
        killed = await session.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = 'casebridge-intake' AND pid <> pg_backend_pid()"
                " AND datname = current_database()"
            )
        )
    assert killed
    for _attempt in range(2):
        answer = await intake.client.post("/complaints", json=caller_body(2), headers=intake.auth())
        if answer.status_code == 201:
            break
        assert answer.status_code == 503, answer.text
        assert "Retry-After" in answer.headers
    assert answer.status_code == 201, answer.text
    assert await count(intake, Complaint) == 2


async def test_risk_answers_in_one_batch_flag_a_log_once(committed: tuple[Intake, Any]) -> None:
    """Answers at the call are written by the batch's one statement: two calls in one batch
    about a new caller (one log) and two about a kept caller flag each log once, with one
    announcement each; every assessment is kept."""
    intake, app = committed
    recorder: Recorder = app.state.recorder
    answers = dict.fromkeys(("targeted", "hate_motivated", "fear_of_reprisal"), "no") | {
        "disability_or_illness": "yes",
        "impact_on_health": "none",
        "isolated": "no",
        "children_affected": "no",
        "previous_reports": "none",
        "feels_unsafe_at_home": "no",
    }
    kept = complaint(complainant={"details": {"name": "Kept Caller", "phone": "07911 123459"}})
    assert (await intake.client.post("/complaints", json=kept, headers=intake.auth())).is_success

    def call(name: str, phone: str) -> Draft:
        body = complaint(
            complainant={"details": {"name": name, "phone": phone}}, risk_answers=answers
        )
        return Draft(draft(0).principal, ComplaintCreate.model_validate(body), draft(0).respond)

    calls = [call("New Caller", "07911 123458"), call("Kept Caller", "07911 123459")] * 2
    async with intake.sessions() as session:
        checked = await preflight(session, calls, recorder.partners)
    async with intake.sessions() as session:
        connection = await session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        async with driver.transaction():
            results = await log_complaints(session, driver, calls, recorder.areas, checked)
            await session.commit()
    assert [getattr(r, "status_code", r) for r in results] == [201] * 4
    async with intake.sessions() as session:
        people = list(await session.scalars(select(Person).order_by(Person.name)))
        changed = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.event_type == "intake.person.vulnerability_changed.v1")
        )
    assert [(p.name, p.vulnerable) for p in people] == [("Kept Caller", True), ("New Caller", True)]
    assert all(
        p.vulnerability_reasons == ["disability, long-term illness or mental health condition"]
        for p in people
    )
    assert changed == 2
    assert await count(intake, RiskAssessment) == 4
    assert await count(intake, PersonVulnerability) == 2
