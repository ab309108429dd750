from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pydantic_core import to_json
from sqlalchemy import text

from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.intake.matching import match_statement, probe
from casebridge.intake.models import Complaint, Person, PersonMerge
from casebridge.intake.schemas.people import Complainant, PersonDetails

from .conftest import POLICE, Intake
from .helpers import complaint, count, days_ago, events, imported, log, person


async def _post(intake: Intake, complainant: dict[str, Any], **auth: Any) -> Any:
    return await intake.client.post(
        "/complaints", json=complaint(complainant=complainant), headers=intake.auth(**auth)
    )


async def test_same_number_written_three_ways_attaches_to_one_log(intake: Intake) -> None:
    first = await log(intake, complaint(complainant=person(phone="07911 123456")))
    for written in ("+44 7911 123456", "0044 (0)7911-123-456", "07911123456"):
        again = await log(intake, complaint(complainant=person(phone=written)))
        assert again["person_id"] == first["person_id"]
        assert again["match"] == "attached"
    assert await count(intake, Person) == 1


async def test_email_matches_without_case(intake: Intake) -> None:
    first = await log(intake, complaint(complainant=person(email="Ann@Example.org")))
    again = await log(intake, complaint(complainant=person(email="ann@example.ORG ")))
    assert again["person_id"] == first["person_id"]


async def test_name_and_birth_date_match_with_titles_and_punctuation(intake: Intake) -> None:
    first = await log(
        intake, complaint(complainant=person(name="Anne-Marie O'Neil", date_of_birth="1980-02-03"))
    )
    again = await log(
        intake,
        complaint(complainant=person(name="Mrs. ANNE MARIE O NEIL", date_of_birth="1980-02-03")),
    )
    assert again["person_id"] == first["person_id"]


async def test_same_name_different_birth_date_is_a_new_log(intake: Intake) -> None:
    first = await log(intake, complaint(complainant=person(date_of_birth="1970-05-01")))
    again = await log(intake, complaint(complainant=person(date_of_birth="1999-05-01")))
    assert again["person_id"] != first["person_id"]
    assert again["match"] == "created"
    assert await count(intake, Person) == 2


async def test_name_and_postcode_alone_is_uncertain_and_records_nothing(intake: Intake) -> None:
    first = await log(intake, complaint(complainant=person(postcode="SW1A 1AA")))
    before = await count(intake, Complaint)
    response = await _post(intake, person(postcode="sw1a 1aa", email="new@example.org"))
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["error"] == "person_match_uncertain"
    (candidate,) = body["detail"]["candidates"]
    assert candidate["person_id"] == first["person_id"]
    assert candidate["reasons"] == ["same name and postcode"]
    assert await count(intake, Complaint) == before
    assert await count(intake, Person) == 1


async def test_phone_with_another_name_is_uncertain_ranked(intake: Intake) -> None:
    ann = await log(intake, complaint(complainant=person(phone="07911 123456", email="a@x.org")))
    response = await _post(
        intake, {"details": {"name": "Bill Example", "phone": "07911123456", "email": "a@x.org"}}
    )
    assert response.status_code == 409
    (candidate,) = response.json()["detail"]["candidates"]
    assert candidate["person_id"] == ann["person_id"]
    assert set(candidate["reasons"]) == {
        "same phone number",
        "same e-mail address",
        "different name",
    }


async def test_handler_chooses_a_candidate_or_a_new_log(intake: Intake) -> None:
    first = await log(intake, complaint(complainant=person(postcode="SW1A 1AA")))
    chosen = await log(intake, complaint(complainant={"person_id": first["person_id"]}))
    assert (chosen["person_id"], chosen["match"]) == (first["person_id"], "chosen")
    fresh = await log(
        intake, complaint(complainant={**person(postcode="SW1A 1AA"), "match": "new"})
    )
    assert fresh["person_id"] != first["person_id"]


async def test_candidates_hide_people_the_caller_cannot_see(intake: Intake) -> None:
    await log(
        intake,
        complaint(complainant=person(postcode="SW1A 1AA"), consent={"status": "refused"}),
    )
    response = await _post(intake, person(postcode="SW1A 1AA"), agency=POLICE)
    assert response.status_code == 201  # no visible candidate: a new log, nothing disclosed
    assert await count(intake, Person) == 2


async def test_person_log_newest_first_with_counts(intake: Intake) -> None:
    p = person(phone="07911 123456")
    dates = [days_ago(28), days_ago(170), days_ago(700)]
    for reported in dates:
        await imported(intake, await log(intake, complaint(complainant=p)), reported)
    person_id = (await log(intake, complaint(complainant=p)))["person_id"]
    response = await intake.client.get(f"/people/{person_id}/log", headers=intake.auth())
    assert response.status_code == 200, response.text
    body = response.json()
    reported = [c["reported_at"] for c in body["complaints"]["items"]]
    assert reported == sorted(reported, reverse=True)
    assert len(reported) == 4
    assert body["person"]["phone"] == "+447911123456"
    # relative to now (2026-11-22 in this sandbox, but computed, not assumed)
    assert body["last_12_months"] >= body["last_6_months"] >= 1
    assert body["last_12_months"] <= 3


async def test_merge_moves_complaints_audits_and_announces(intake: Intake) -> None:
    a = await log(intake, complaint(complainant=person(phone="07911 123456")))
    b = await log(
        intake, complaint(complainant={"details": {"name": "A. Example", "email": "a@x.org"}})
    )
    response = await intake.client.post(
        f"/people/{a['person_id']}/merge",
        json={"duplicate_id": b["person_id"], "reason": "same person, confirmed by phone"},
        headers=intake.auth(),
    )
    assert response.status_code == 201, response.text
    assert response.json()["complaint_ids"] == [b["id"]]
    assert await count(intake, PersonMerge) == 1
    (event,) = await events(intake, "intake.person.merged.v1")
    assert event["merged_id"] == b["person_id"]
    gone = await intake.client.get(f"/people/{b['person_id']}", headers=intake.auth())
    assert gone.status_code == 404
    survivor = (await intake.client.get(f"/people/{a['person_id']}", headers=intake.auth())).json()
    assert survivor["email"] == "a@x.org"
    log_ = (await intake.client.get(f"/people/{a['person_id']}/log", headers=intake.auth())).json()
    assert {c["id"] for c in log_["complaints"]["items"]} == {a["id"], b["id"]}


async def test_merge_into_itself_is_409(intake: Intake) -> None:
    a = await log(intake, complaint())
    response = await intake.client.post(
        f"/people/{a['person_id']}/merge",
        json={"duplicate_id": a["person_id"], "reason": "oops"},
        headers=intake.auth(),
    )
    assert response.status_code == 409


async def test_third_incident_in_three_months_marks_repeat_victim(intake: Intake) -> None:
    p = person(phone="07911 123456")
    first = await log(intake, complaint(complainant=p))
    second = await log(intake, complaint(complainant=p))
    # two complaints about one incident count once
    await intake.client.post(
        f"/complaints/{second['id']}/link",
        json={"complaint_id": first["id"]},
        headers=intake.auth(),
    )
    await log(intake, complaint(complainant=p))
    assert await events(intake, "intake.person.repeat_victim_marked.v1") == []
    await log(intake, complaint(complainant=p))
    (event,) = await events(intake, "intake.person.repeat_victim_marked.v1")
    assert event["person_id"] == first["person_id"]
    assert event["incidents"] == 3
    assert len(event["complaint_ids"]) == 4  # four complaints, three incidents
    assert event["rule"] == "3 incidents in 3 months"
    got = (await intake.client.get(f"/people/{first['person_id']}", headers=intake.auth())).json()
    assert got["repeat_victim"] is True
    await log(intake, complaint(complainant=p))
    assert len(await events(intake, "intake.person.repeat_victim_marked.v1")) == 1


async def test_a_complaint_reported_before_the_window_does_not_count(intake: Intake) -> None:
    p = person(phone="07911 123456")
    await imported(intake, await log(intake, complaint(complainant=p)), days_ago(300))
    await log(intake, complaint(complainant=p))
    # the third complaint was made ten months ago (imported history): still two incidents
    await imported(intake, await log(intake, complaint(complainant=p)), days_ago(299))
    assert await events(intake, "intake.person.repeat_victim_marked.v1") == []
    # a third recent incident marks the log
    await log(intake, complaint(complainant=p))
    await log(intake, complaint(complainant=p))
    (event,) = await events(intake, "intake.person.repeat_victim_marked.v1")
    assert event["incidents"] == 3
    assert len(event["complaint_ids"]) == 3


async def test_search_people_by_normalised_fields(intake: Intake) -> None:
    a = await log(intake, complaint(complainant=person(phone="07911 123456")))
    for query in ("phone=%2B447911123456", "name=MRS%20ANN%20EXAMPLE", "phone=07911%20123456"):
        response = await intake.client.get(f"/people?{query}", headers=intake.auth())
        assert response.status_code == 200, response.text
        assert [p["id"] for p in response.json()["items"]] == [a["person_id"]], query


async def test_matching_uses_indexes_not_scans(intake: Intake) -> None:
    """Every branch of the matching statement is served by its ix_person_match_* index,
    for every complainant of a batch."""
    details = PersonDetails(
        name="Ann Example",
        phone="07911 123456",
        email="a@x.org",
        date_of_birth=date(1970, 1, 1),
        postcode="SW1A 1AA",
    )
    other = PersonDetails(name="Bob Other", email="bob@x.org")
    since = datetime(2026, 8, 22, tzinfo=UTC)
    probes = [
        probe(0, DEMO_AREA_ID, Complainant(details=details), since),
        probe(1, DEMO_AREA_ID, Complainant(details=other), since),
    ]
    async with intake.sessions() as session:
        # A realistic spread of values (and statistics) so the planner has a real choice.
        await session.execute(
            text(
                "INSERT INTO person (id, area_id, kind, name, name_norm, surname_key, phone, email,"
                " postcode, date_of_birth, created_at) SELECT gen_random_uuid(), :a, 'individual',"
                " 'P' || i, 'p ' || i, 'P' || (i % 700), '+4479' || lpad(i::text, 8, '0'),"
                " i || '@x.org',"
                " 'SW' || (i % 90) || ' ' || (i % 9) || 'AA', date '1950-01-01' + (i % 20000),"
                " now() FROM generate_series(1, 20000) AS i"
            ),
            {"a": DEMO_AREA_ID},
        )
        # And complaints on those logs: an empty, freshly analysed complaint table would
        # make a scan of it the cheapest plan for the recent-complaints join.
        await session.execute(
            text(
                "WITH i AS (INSERT INTO incident (id, area_id) SELECT gen_random_uuid(), :a"
                " FROM generate_series(1, 5000) RETURNING id),"
                " ni AS (SELECT id, row_number() OVER () AS n FROM i),"
                " np AS (SELECT id, row_number() OVER () AS n FROM person LIMIT 5000)"
                " INSERT INTO complaint (id, reference, sequence, area_id, receiving_agency_id,"
                " recorded_by, channel, person_id, incident_id, nsir_category, asb_type,"
                " description, hate_motivated, anonymous, occurred_at, reported_at)"
                " SELECT gen_random_uuid(), 'TST-' || ni.n, ni.n, :a, :a, 'test', 'phone', np.id,"
                " ni.id, 'personal', 'noise', 'x', false, false,"
                " now() - ni.n * interval '1 hour', now() - ni.n * interval '1 hour'"
                " FROM ni JOIN np USING (n)"
            ),
            {"a": DEMO_AREA_ID},
        )
        await session.execute(text("ANALYZE person"))
        await session.execute(text("ANALYZE complaint"))
        connection = await session.connection()
        explain = f"EXPLAIN {match_statement()}"
        rows = await connection.exec_driver_sql(explain, (to_json(probes).decode(),))
        plan = "\n".join(row[0] for row in rows)
    assert "Seq Scan" not in plan, plan
    # Six identifier branches, six index scans (name + postcode may use either index it
    # leads with); a chosen log by its key; recent complaints by person and time.
    assert plan.count("Index Scan using ix_person_match_") == 6, plan
    assert "Index Scan using pk_person" in plan, plan
    assert "ix_complaint_person_reported" in plan, plan
    # An identifier the caller did not give skips its arm whole (the bench once found a
    # postcode arm planned as a scan run for a NULL postcode, at 4 requests a second).
    for given in ("q.phone IS NOT NULL", "q.email IS NOT NULL", "q.person_id IS NOT NULL"):
        assert f"One-Time Filter: ({given})" in plan, plan
    assert plan.count("One-Time Filter: ((q.") == 4, plan
    for index in ("phone", "email", "name_dob", "surname_dob"):
        assert f"ix_person_match_{index}" in plan, plan
