from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.events import outbox
from casebridge.common.events.models import OutboxMessage
from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.intake.models import (
    AgencyReference,
    Complaint,
    Incident,
    Perpetrator,
    Person,
    Witness,
)
from casebridge.intake.references import is_valid_reference

from .conftest import COUNCIL, POLICE, Intake
from .helpers import complaint, count, days_ago, events, log

TABLES = [Complaint, Person, Incident, AgencyReference, Perpetrator, Witness]


async def test_log_complaint_gives_reference_and_complete_event(intake: Intake) -> None:
    body = complaint(
        agency_references=[{"agency_id": str(POLICE), "reference": "CAD 1234/21NOV"}],
        perpetrators=[
            {"kind": "person", "name": "Mr. Bob  SMITH", "postcode": "sw1a1aa"},
            {"kind": "household", "address": "3 Example Street", "postcode": "SW1A 1AA"},
            {"kind": "unknown", "description": "a tall man"},
        ],
        witnesses=[{"name": "Wendy Witness", "phone": "+44 20 7946 0019"}],
    )
    created = await log(intake, body)
    assert is_valid_reference(created["reference"])
    assert created["reference"].startswith("DMO-2026-")
    assert created["match"] == "created"
    assert created["usable_for_case_review"] is True
    assert created["location"]["postcode"] == "SW1A 1AA"
    (event,) = await events(intake, "intake.complaint.logged.v1")
    assert event["complaint_id"] == created["id"]
    assert event["person_id"] == created["person_id"] is not None
    assert event["incident_id"] == created["incident_id"]
    assert event["consent_to_share"] == "given"
    assert event["perpetrator_keys"] == [
        "household:3 example street|SW1A 1AA",
        "name:bob smith|SW1A 1AA",
    ]
    assert event["agency_references"] == [{"agency_id": str(POLICE), "reference": "CAD 1234/21NOV"}]
    assert "description" not in event


async def test_anonymous_complaint_is_logged_but_not_usable_for_review(intake: Intake) -> None:
    created = await log(intake, complaint(complainant=None, anonymous=True))
    assert created["person_id"] is None
    assert created["usable_for_case_review"] is False


async def test_log_complaint_needs_write_scope(intake: Intake) -> None:
    response = await intake.client.post(
        "/complaints", json=complaint(), headers=intake.auth(scopes=["complaints:read"])
    )
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert await count(intake, Complaint) == 0


def _set(path: str, value: Any) -> dict[str, Any]:
    body = complaint()
    target = body
    *parents, leaf = path.split(".")
    for part in parents:
        target = target[part]
    if value is _DROP:
        del target[leaf]
    else:
        target[leaf] = value
    return body


_DROP = object()
LONG = "x" * 4001

BAD_INPUTS = [
    ("reported_at", days_ago(2), "body", "occurred_at must not be after"),
    ("occurred_at", "2026-11-20T23:30:00", "body.occurred_at", "timezone"),
    ("reported_at", "2999-01-01T00:00:00Z", "body", "must not be in the future"),
    ("channel", "pigeon", "body.channel", "Input should be"),
    ("asb_type", "jaywalking", "body.asb_type", "Input should be"),
    ("nsir_category", "serious", "body.nsir_category", "Input should be"),
    ("description", LONG, "body.description", "at most 4000"),
    ("description", "", "body.description", "at least 1"),
    ("location.postcode", "XX1 1XXX", "body.location.postcode", "not a valid UK postcode"),
    ("location", {"address": "somewhere"}, "body.location", "postcode, coordinates or a UPRN"),
    ("location.latitude", 51.5, "body.location", "both latitude and longitude"),
    ("location.uprn", 0, "body.location.uprn", "greater than or equal"),
    ("complainant", _DROP, "body", "complainant is required"),
    ("complainant.details.phone", "12345", "body.complainant.details.phone", "phone"),
    ("complainant.details.email", "not-an-email", "body.complainant.details.email", "e-mail"),
    ("complainant.details.date_of_birth", "2999-01-01", "body.complainant.details", "between"),
    ("complainant.details.name", "A\x00nn", "body.complainant.details.name", "NUL"),
    ("consent", {"status": "maybe"}, "body.consent.status", "Input should be"),
    ("perpetrators", [{"kind": "unknown", "name": "Bob"}], "body.perpetrators.0", "unknown"),
    ("agency_references", [{"agency_id": "x", "reference": "1"}], "body.agency_references.0",
     "UUID"),
    ("receiving_agency_id", str(POLICE), "body.receiving_agency_id", "Extra inputs"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "value", "field", "reason"), BAD_INPUTS)
async def test_bad_input_is_422_naming_field_and_leaves_no_row(
    intake: Intake, path: str, value: Any, field: str, reason: str
) -> None:
    response = await intake.client.post(
        "/complaints", json=_set(path, value), headers=intake.auth()
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "validation_error"
    assert any(d["field"].startswith(field) and reason in d["reason"] for d in body["detail"]), body
    for table in TABLES:
        assert await count(intake, table) == 0
    assert await events(intake) == []


async def test_other_agency_cannot_read_complaint_without_consent(intake: Intake) -> None:
    created = await log(intake, complaint(consent={"status": "refused"}))
    url = f"/complaints/{created['id']}"
    assert (await intake.client.get(url, headers=intake.auth())).status_code == 200
    response = await intake.client.get(url, headers=intake.auth(POLICE))
    assert response.status_code == 404
    assert "Loud music" not in response.text


async def test_by_reference_finds_casebridge_and_agency_references(intake: Intake) -> None:
    body = complaint(agency_references=[{"agency_id": str(COUNCIL), "reference": "ASB/2026/77"}])
    created = await log(intake, body)
    for ref in (created["reference"], created["reference"].lower(), "asb-2026-77", "ASB/2026/77"):
        response = await intake.client.get(f"/complaints/by-reference/{ref}", headers=intake.auth())
        assert response.status_code == 200, (ref, response.text)
        assert [c["id"] for c in response.json()["items"]] == [created["id"]]


def _typos(reference: str) -> list[str]:
    """One wrong digit, and two adjacent digits swapped (where they differ)."""
    prefix, year, sequence, check = reference.split("-")
    wrong = sequence[:-1] + str((int(sequence[-1]) + 3) % 10)
    digits = f"{year}{sequence}{check}"
    i = next(i for i in range(len(digits) - 1) if digits[i] != digits[i + 1])
    swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
    return [
        f"{prefix}-{year}-{wrong}-{check}",
        f"{prefix}-{swapped[:4]}-{swapped[4:-1]}-{swapped[-1]}",
    ]


async def test_by_reference_with_typo_says_check_character_is_wrong(intake: Intake) -> None:
    created = await log(intake, complaint())
    for typo in _typos(created["reference"]):
        response = await intake.client.get(
            f"/complaints/by-reference/{typo}", headers=intake.auth()
        )
        assert response.status_code == 422, typo
        (problem,) = response.json()["detail"]
        assert problem["field"] == "path.reference"
        assert "check character is wrong" in problem["reason"]


async def test_by_reference_unknown_is_404(intake: Intake) -> None:
    response = await intake.client.get("/complaints/by-reference/NOPE-1", headers=intake.auth())
    assert response.status_code == 404


async def test_update_complaint_emits_updated_with_changed_fields(intake: Intake) -> None:
    created = await log(intake, complaint())
    response = await intake.client.patch(
        f"/complaints/{created['id']}",
        json={"asb_type": "noise", "hate_motivated": True},
        headers=intake.auth(),
    )
    assert response.status_code == 200, response.text
    assert response.json()["asb_type"] == "noise"
    (event,) = await events(intake, "intake.complaint.updated.v1")
    assert sorted(event["changed"]) == ["asb_type", "hate_motivated"]


async def test_update_by_partner_is_404(intake: Intake) -> None:
    created = await log(intake, complaint())
    response = await intake.client.patch(
        f"/complaints/{created['id']}", json={"status": "closed"}, headers=intake.auth(POLICE)
    )
    assert response.status_code == 404
    assert await events(intake, "intake.complaint.updated.v1") == []


async def test_consent_change_is_recorded_with_time_and_event(intake: Intake) -> None:
    created = await log(intake, complaint())
    response = await intake.client.post(
        f"/complaints/{created['id']}/consent",
        json={"status": "withdrawn"},
        headers=intake.auth(),
    )
    assert response.status_code == 200, response.text
    assert response.json()["consent_status"] == "withdrawn"
    assert response.json()["consent_recorded_at"] is not None
    (event,) = await events(intake, "intake.consent.changed.v1")
    assert (event["previous"], event["consent_to_share"]) == ("given", "withdrawn")


async def test_list_complaints_pages_with_cursor_and_bounded_limit(intake: Intake) -> None:
    ids = [(await log(intake, complaint(complainant=None, anonymous=True)))["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await intake.client.get("/complaints", params=params, headers=intake.auth())).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)
    assert len(seen) == 5
    too_many = await intake.client.get("/complaints?limit=101", headers=intake.auth())
    assert too_many.status_code == 422
    assert too_many.json()["detail"][0]["field"] == "query.limit"
    bad = await intake.client.get("/complaints?cursor=zzz", headers=intake.auth())
    assert bad.status_code == 422


async def test_list_complaints_filters(intake: Intake) -> None:
    a = await log(intake, complaint())
    await log(intake, complaint(asb_type="noise", location={"postcode": "M1 1AE"}))
    for query, expected in [
        ("postcode=sw1a1aa", [a["id"]]),
        ("asb_type=rowdy_neighbours", [a["id"]]),
        (f"reference={a['reference']}", [a["id"]]),
        (f"person_id={a['person_id']}", None),
        ("reported_from=2027-01-01T00:00:00Z", []),
    ]:
        response = await intake.client.get(f"/complaints?{query}", headers=intake.auth())
        assert response.status_code == 200, response.text
        got = [c["id"] for c in response.json()["items"]]
        if expected is not None:
            assert got == expected, query
        else:
            assert a["id"] in got


async def test_logged_complaint_reads_back_as_answered(intake: Intake) -> None:
    """Every column and detail row the single write statement stores is what the POST said."""
    body = complaint(
        agency_references=[
            {"agency_id": str(POLICE), "reference": "CAD 1/21NOV"},
            {"agency_id": str(COUNCIL), "reference": "ASB-77"},
        ],
        perpetrators=[
            {"kind": "person", "name": "Bob Smith", "person_id": None},
            {"kind": "group", "name": "The Lads", "description": "five or six"},
        ],
        witnesses=[
            {"name": "Wendy", "email": "W@X.ORG", "statement": "heard it"},
            {"name": "Walt"},
        ],
        location={"postcode": "sw1a1aa", "uprn": 100023336956, "latitude": 51.5,
                  "longitude": -0.14},
        hate_motivated=True,
        consent={"status": "refused", "recorded_at": "2026-11-21T09:05:00Z"},
    )  # fmt: skip
    created = await log(intake, body)
    read = await intake.client.get(f"/complaints/{created['id']}", headers=intake.auth())
    assert read.status_code == 200
    assert created["match"] == "logged"  # consent refused: the caller is not told if known
    assert {**read.json(), "match": "logged"} == created
    assert [w["email"] for w in created["witnesses"]] == ["w@x.org", None]
    assert created["consent_recorded_at"] == "2026-11-21T09:05:00Z"
    for table, rows in [(AgencyReference, 2), (Perpetrator, 2), (Witness, 2), (Incident, 1)]:
        assert await count(intake, table) == rows


async def test_outbox_row_is_the_one_outbox_add_stages(intake: Intake) -> None:
    """The write statement puts the event in the outbox exactly as `outbox.add` would."""
    created = await log(intake, complaint())
    async with intake.sessions() as session:
        (row,) = await session.scalars(select(OutboxMessage))
        event = ComplaintLogged.model_validate(row.payload["data"])
        staged = outbox.add(session, event, area_id=DEMO_AREA_ID, aggregate_id=created["id"])
        model = next(m for m in session.new if isinstance(m, OutboxMessage))
        session.expunge(model)
    assert (row.subject, row.event_type, row.aggregate_type, row.aggregate_id) == (
        model.subject, model.event_type, model.aggregate_type, model.aggregate_id,
    )  # fmt: skip
    assert row.payload["id"] == str(row.id)
    assert row.payload.keys() == staged.model_dump(mode="json").keys()
    assert {k: v for k, v in row.payload.items() if k not in ("id", "time")} == {
        k: v for k, v in staged.model_dump(mode="json").items() if k not in ("id", "time")
    }
    assert (row.attempts, row.acquired_token, row.last_error) == (0, None, None)


async def test_each_complaint_draws_one_reference_number(intake: Intake) -> None:
    """Matching draws the number in its own round trip; an anonymous complaint or a
    chosen log draws it alone: either way one number per complaint, none wasted."""
    matched = await log(intake, complaint())
    anonymous = await log(intake, complaint(complainant=None, anonymous=True))
    chosen = await log(intake, complaint(complainant={"person_id": matched["person_id"]}))
    attached = await log(intake, complaint())
    assert attached["match"] == "attached"
    numbers = [int(c["reference"].split("-")[2]) for c in (matched, anonymous, chosen, attached)]
    assert numbers == list(range(numbers[0], numbers[0] + 4))
