"""Reads leave a trace (issue 15 item 4, LEG-R3): each record a partner is shown becomes one
access record, and the recording agency's DPO (only) can list it."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from casebridge.common import access
from casebridge.common.access import AccessLog
from casebridge.common.auth import Principal
from casebridge.common.db import new_id
from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.intake.models import access_record
from casebridge.testing.harness import app_of
from casebridge.testing.poll import poll

from .conftest import COUNCIL, HOUSING, POLICE, Intake
from .helpers import complaint, log


async def _flush(intake: Intake) -> None:
    await app_of(intake.client).state.access_log.flush()


async def _records(intake: Intake) -> list[dict[str, Any]]:
    await _flush(intake)
    async with intake.sessions() as session:
        rows = await session.execute(select(access_record).order_by(access_record.c.id))
        return [dict(r._mapping) for r in rows]


def _dpo(intake: Intake, agency: Any) -> dict[str, str]:
    return intake.auth(agency, roles=["dpo"], sub=f"dpo-of-{agency}")


async def test_reading_a_complaint_writes_one_access_record(intake: Intake) -> None:
    created = await log(intake, complaint())
    assert await _records(intake) == []  # logging it is not a read
    headers = intake.auth(POLICE, sub="pc-4711") | {"Casebridge-Purpose": "case_review"}
    response = await intake.client.get(f"/complaints/{created['id']}", headers=headers)
    assert response.status_code == 200, response.text
    (record,) = await _records(intake)
    assert record["record_type"] == "complaint"
    assert str(record["record_id"]) == created["id"]
    assert record["agency_id"] == POLICE
    assert record["user_id"] == "pc-4711"
    assert record["client_id"] == f"client-{POLICE}"
    assert record["purpose"] == "case_review"
    assert record["controller_agency_ids"] == [COUNCIL]
    shown = {k for k, v in response.json().items() if k != "redacted_fields"}
    assert "description" not in record["fields"]  # the narrative never leaves intake
    assert set(record["fields"]) >= shown - {"location", "usable_for_case_review"}  # derived
    assert record["route"] == f"GET /complaints/{created['id']}"


async def test_the_acting_user_and_token_purpose_are_recorded(intake: Intake) -> None:
    created = await log(intake, complaint())
    headers = intake.auth(sub="case-system", act={"sub": "officer-12"}, purpose="prevention")
    assert (await intake.client.get(f"/complaints/{created['id']}", headers=headers)).is_success
    (record,) = await _records(intake)
    assert (record["user_id"], record["purpose"], record["fields"]) == (
        "officer-12",
        "prevention",
        ["*"],  # the recording agency sees its own complaint whole
    )


async def test_a_list_records_each_row_and_a_log_its_person(intake: Intake) -> None:
    first = await log(intake, complaint())
    await log(intake, complaint(complainant={"person_id": first["person_id"]}))
    assert (await intake.client.get("/complaints", headers=intake.auth())).is_success
    url = f"/people/{first['person_id']}/log"
    assert (await intake.client.get(url, headers=intake.auth())).is_success
    records = await _records(intake)
    assert [r["record_type"] for r in records] == ["complaint"] * 2 + ["person"] + ["complaint"] * 2


async def test_the_recorders_dpo_lists_the_read_and_no_other_agency_does(intake: Intake) -> None:
    created = await log(intake, complaint())
    await intake.client.get(f"/complaints/{created['id']}", headers=intake.auth(POLICE))
    await intake.client.get(f"/people/{created['person_id']}", headers=intake.auth(POLICE))
    await _flush(intake)

    mine = await intake.client.get("/audit/access", headers=_dpo(intake, COUNCIL))
    assert mine.status_code == 200, mine.text
    items = mine.json()["items"]
    assert {(i["record_type"], i["record_id"]) for i in items} == {
        ("complaint", created["id"]),
        ("person", created["person_id"]),  # the log the council recorded a complaint on
    }
    assert {i["agency_id"] for i in items} == {str(POLICE)}

    for other in (POLICE, HOUSING):
        theirs = await intake.client.get("/audit/access", headers=_dpo(intake, other))
        assert theirs.status_code == 200
        assert theirs.json()["items"] == []


async def test_access_audit_filters_and_exports_csv(intake: Intake) -> None:
    created = await log(intake, complaint())
    await intake.client.get(f"/complaints/{created['id']}", headers=intake.auth(POLICE, sub="a"))
    await intake.client.get(f"/complaints/{created['id']}", headers=intake.auth(HOUSING, sub="b"))
    await _flush(intake)
    dpo = _dpo(intake, COUNCIL)

    by_user = await intake.client.get("/audit/access", params={"user_id": "b"}, headers=dpo)
    assert [i["agency_id"] for i in by_user.json()["items"]] == [str(HOUSING)]
    page = await intake.client.get("/audit/access", params={"limit": 1}, headers=dpo)
    assert len(page.json()["items"]) == 1
    assert page.json()["next_cursor"]
    later = await intake.client.get(
        "/audit/access", params={"limit": 1, "cursor": page.json()["next_cursor"]}, headers=dpo
    )
    assert later.json()["items"][0]["id"] != page.json()["items"][0]["id"]
    future = await intake.client.get(
        "/audit/access", params={"from": "2100-01-01T00:00:00Z"}, headers=dpo
    )
    assert future.json()["items"] == []

    exported = await intake.client.get("/audit/access", params={"format": "csv"}, headers=dpo)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {(r["user_id"], r["record_id"]) for r in rows} == {
        ("a", created["id"]),
        ("b", created["id"]),
    }


async def test_access_audit_needs_the_dpo_role(intake: Intake) -> None:
    response = await intake.client.get("/audit/access", headers=intake.auth())
    assert response.status_code == 403
    bad = await intake.client.get(
        "/audit/access",
        params={"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        headers=_dpo(intake, COUNCIL),
    )
    assert bad.status_code == 422


async def test_a_full_buffer_refuses_the_read_rather_than_serve_it_untraced(
    intake: Intake,
) -> None:
    created = await log(intake, complaint())
    access_log = app_of(intake.client).state.access_log
    access_log.max_rows = 0
    try:
        response = await intake.client.get(f"/complaints/{created['id']}", headers=intake.auth())
    finally:
        access_log.max_rows = 20_000
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"


async def test_access_records_cannot_be_changed_or_removed(intake: Intake) -> None:
    created = await log(intake, complaint())
    await intake.client.get(f"/complaints/{created['id']}", headers=intake.auth(POLICE))
    assert len(await _records(intake)) == 1
    for statement in (update(access_record).values(purpose="x"), delete(access_record)):
        async with intake.sessions() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(statement)
    assert len(await _records(intake)) == 1


def _reading(access_log: AccessLog, count: int) -> None:
    """`count` records added as a request's presenter would add them."""
    principal = Principal("pc-9", "client-9", POLICE, DEMO_AREA_ID, frozenset())
    trail = access.Trail(access_log, "GET /complaints", None, principal)
    for _ in range(count):
        access_log.add(trail, "complaint", new_id(), ["id"], [COUNCIL])


async def test_the_timer_writes_the_buffer_and_stop_writes_the_rest(intake: Intake) -> None:
    access_log = AccessLog(access_record, lambda: intake.sessions, flush_seconds=0.05)
    access_log.start()
    _reading(access_log, 3)
    await poll(lambda: access_log.pending == 0, timeout=10, what="timed flush")
    _reading(access_log, 2)
    await access_log.stop()  # at shutdown: what is left is written
    assert access_log.pending == 0
    assert len(await _records(intake)) == 5


async def test_records_that_cannot_be_written_stay_buffered() -> None:
    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    sessions = async_sessionmaker(engine)
    access_log = AccessLog(access_record, lambda: sessions, max_rows=3)
    _reading(access_log, 3)
    with pytest.raises(OSError):
        await access_log.flush()
    assert access_log.pending == 3  # kept for the next flush
    with pytest.raises(access.AccessUnrecorded):
        _reading(access_log, 1)  # full: the read is refused, not served untraced
    await engine.dispose()
