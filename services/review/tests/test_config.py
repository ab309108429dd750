from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.devstack.seeds.review import demo_document
from casebridge.review import areas
from casebridge.review.models import AreaConfig, OutboxMessage

from .conftest import ADMIN, COUNCIL, HOUSING, POLICE, Review


async def versions(review: Review) -> int:
    async with review.sessions() as session:
        query = select(func.count()).where(AreaConfig.area_id == DEMO_AREA_ID)
        return int(await session.scalar(query) or 0)


def with_threshold(n: int) -> str:
    return demo_document().replace("threshold: 3 ", f"threshold: {n} ")


async def test_read_config_gives_version_in_force(review: Review) -> None:
    response = await review.client.get("/config", headers=review.auth())
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 1
    assert response.json()["rules"]["statutory"]["threshold"] == 3


async def test_publish_config_local_threshold_of_two_is_a_new_version(review: Review) -> None:
    response = await review.client.put(
        "/config", content=with_threshold(2), headers=review.auth(roles=[ADMIN])
    )
    assert response.status_code == 201, response.text
    assert response.json()["version"] == 2
    assert response.json()["rules"]["statutory"]["threshold"] == 2


async def announced(review: Review) -> list[dict[str, Any]]:
    """The procedure versions announced, oldest first (the events' data)."""
    async with review.sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage.payload)
            .where(OutboxMessage.event_type == "review.procedure.changed.v1")
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
        )
        return [row["data"] for row in rows]


async def test_publish_config_announces_the_spoc_and_panel_by_id(review: Review) -> None:
    """A new version is announced with the SPOC's and the panel's agency ids (no names or
    contacts), on the area's subject, in the transaction that stores it."""
    before = await announced(review)
    document = demo_document().replace(
        "agency_id: 0192f0a0-0000-7000-8000-00000000c001\nescalation",
        f"agency_id: {POLICE}\nescalation",
    )
    assert document != demo_document()
    response = await review.client.put(
        "/config", content=document, headers=review.auth(roles=[ADMIN])
    )
    assert response.status_code == 201, response.text
    after = await announced(review)
    assert len(after) == len(before) + 1
    event = after[-1]
    assert event == {
        "area_id": str(DEMO_AREA_ID),
        "procedure_version": 2,
        "spoc_agency_id": str(POLICE),
        "panel_agency_ids": [str(COUNCIL), str(POLICE), str(HOUSING)],
        "changed_at": event["changed_at"],
    }
    async with review.sessions() as session:
        subject = await session.scalar(
            select(OutboxMessage.subject)
            .where(OutboxMessage.event_type == "review.procedure.changed.v1")
            .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
            .limit(1)
        )
    assert subject == f"review.{DEMO_AREA_ID}.procedure.changed.v1"


async def test_a_refused_procedure_announces_nothing(review: Review) -> None:
    before = await announced(review)
    response = await review.client.put(
        "/config", content=with_threshold(4), headers=review.auth(roles=[ADMIN])
    )
    assert response.status_code == 422
    assert await announced(review) == before


async def test_publish_config_threshold_above_three_is_refused(review: Review) -> None:
    response = await review.client.put(
        "/config", content=with_threshold(4), headers=review.auth(roles=[ADMIN])
    )
    assert response.status_code == 422
    reasons = response.json()["detail"]
    assert reasons[0]["field"] == "body.statutory.threshold"
    assert "less than or equal to 3" in reasons[0]["reason"]
    assert await versions(review) == 1


async def test_publish_config_reports_every_bad_field(review: Review) -> None:
    document = demo_document().replace("required: 2, of: 3", "required: 1, of: 3")
    document = document.replace("unit: working}\n  meeting", "unit: fortnightly}\n  meeting")
    response = await review.client.put(
        "/config", content=document, headers=review.auth(roles=[ADMIN])
    )
    assert response.status_code == 422
    fields = {r["field"] for r in response.json()["detail"]}
    assert "body.timescales.threshold_decision.unit" in fields
    assert "body.panel.majority" in fields
    assert await versions(review) == 1


async def test_publish_config_refuses_broken_yaml_and_unknown_keys(review: Review) -> None:
    for document in ("code: [unclosed", "- a list", "bogus: 1\n"):
        response = await review.client.put(
            "/config", content=document, headers=review.auth(roles=[ADMIN])
        )
        assert response.status_code == 422, document
    assert await versions(review) == 1


async def test_a_key_with_a_nul_is_named_without_the_nul(review: Review) -> None:
    """A YAML key may spell a NUL (`"\\0"`): the 422 names the field in text a client can
    store, as the OpenAPI document promises (no NUL in `field`)."""
    document = '"bad\\0key": 1\n'
    response = await review.client.put(
        "/config", content=document, headers=review.auth(roles=[ADMIN])
    )
    assert response.status_code == 422
    fields = [reason["field"] for reason in response.json()["detail"]]
    assert "body.bad\\x00key" in fields, fields
    assert all("\x00" not in field for field in fields)


async def test_publish_config_needs_write_scope(review: Review) -> None:
    headers = review.auth(scopes=["reviews:read"])
    response = await review.client.put("/config", content=demo_document(), headers=headers)
    assert response.status_code == 403


async def test_a_procedure_without_its_spoc_agency_or_panel_is_refused(review: Review) -> None:
    """`{}` is valid YAML and every field has a default, but a procedure that names no SPOC
    agency and no panel leaves nobody able to take a step: 422 with both reasons."""
    for document in ("{}\n", "code: ABC\n"):
        response = await review.client.put(
            "/config", content=document, headers=review.auth(roles=[ADMIN])
        )
        assert response.status_code == 422, response.text
        fields = {r["field"] for r in response.json()["detail"]}
        assert fields == {"body.spoc.agency_id", "body.panel.members"}
    without_spoc = demo_document().replace(
        "  agency_id: 0192f0a0-0000-7000-8000-00000000c001\n", ""
    )
    response = await review.client.put(
        "/config", content=without_spoc, headers=review.auth(roles=[ADMIN])
    )
    assert response.status_code == 422, response.text
    assert [r["field"] for r in response.json()["detail"]] == ["body.spoc.agency_id"]
    assert await versions(review) == 1


async def test_the_worker_announces_each_areas_procedure_in_force_at_start(
    review: Review,
) -> None:
    """Procedures stored before review announced them (or whose announcement a restored
    backup lost) reach sharing when the worker starts: the latest version of each area, once
    per start; sharing ignores a version it already has."""
    document = demo_document().replace(
        "agency_id: 0192f0a0-0000-7000-8000-00000000c001\nescalation",
        f"agency_id: {POLICE}\nescalation",
    )
    response = await review.client.put(
        "/config", content=document, headers=review.auth(roles=[ADMIN])
    )
    assert response.status_code == 201, response.text
    before = await announced(review)
    async with review.sessions() as session, session.begin():
        assert await areas.announce_procedures(session) == 1  # one area, its latest version
    after = await announced(review)
    assert len(after) == len(before) + 1
    assert after[-1]["procedure_version"] == 2
    assert after[-1]["spoc_agency_id"] == str(POLICE)
