from __future__ import annotations

from casebridge.intake.models import Complaint, IdempotencyRecord

from .conftest import POLICE, Intake
from .helpers import complaint, count, events


async def test_same_key_and_body_return_the_first_response(intake: Intake) -> None:
    headers = {**intake.auth(), "Idempotency-Key": "call-42"}
    first = await intake.client.post("/complaints", json=complaint(), headers=headers)
    assert first.status_code == 201
    # the same body with its keys in another order is the same request
    reordered = dict(reversed(list(complaint().items())))
    again = await intake.client.post("/complaints", json=reordered, headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await count(intake, Complaint) == 1
    assert len(await events(intake, "intake.complaint.logged.v1")) == 1


async def test_same_key_other_body_is_409(intake: Intake) -> None:
    headers = {**intake.auth(), "Idempotency-Key": "call-43"}
    await intake.client.post("/complaints", json=complaint(), headers=headers)
    other = await intake.client.post(
        "/complaints", json=complaint(description="something else"), headers=headers
    )
    assert other.status_code == 409
    assert other.json()["error"] == "idempotency_key_reused"
    assert await count(intake, Complaint) == 1


async def test_keys_belong_to_one_caller(intake: Intake) -> None:
    for agency in (None, POLICE):
        auth = intake.auth() if agency is None else intake.auth(agency)
        response = await intake.client.post(
            "/complaints", json=complaint(), headers={**auth, "Idempotency-Key": "shared"}
        )
        assert response.status_code == 201
    assert await count(intake, Complaint) == 2


async def test_a_failed_request_leaves_no_key(intake: Intake) -> None:
    headers = {**intake.auth(), "Idempotency-Key": "call-44"}
    bad = await intake.client.post("/complaints", json=complaint(asb_type="nope"), headers=headers)
    assert bad.status_code == 422
    first = await intake.client.post("/complaints", json=complaint(), headers=headers)
    assert first.status_code == 201
    # a business-rule failure (uncertain match) rolls back its key with everything else
    uncertain = complaint(complainant={"details": {"name": "Ann Example", "postcode": "SW1A 1AA"}})
    key = {**intake.auth(), "Idempotency-Key": "call-45"}
    assert (await intake.client.post("/complaints", json=uncertain, headers=key)).status_code == 409
    assert await count(intake, IdempotencyRecord) == 1


async def test_bad_key_is_422(intake: Intake) -> None:
    headers = {**intake.auth(), "Idempotency-Key": "x" * 201}
    response = await intake.client.post("/complaints", json=complaint(), headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"].lower().endswith("idempotency-key")
    assert await count(intake, Complaint) == 0


async def test_a_refused_reuse_keeps_the_first_record(intake: Intake) -> None:
    """Issue 8 item 2: the 409 for a reused key must not release the first request's record,
    so the first request sent again is a replay of its complaint, not a second one."""
    headers = {**intake.auth(), "Idempotency-Key": "call-46"}
    first = await intake.client.post("/complaints", json=complaint(), headers=headers)
    assert first.status_code == 201
    other = await intake.client.post(
        "/complaints", json=complaint(description="something else"), headers=headers
    )
    assert other.status_code == 409
    again = await intake.client.post("/complaints", json=complaint(), headers=headers)
    assert again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["id"] == first.json()["id"]
    assert await count(intake, Complaint) == 1
    assert await count(intake, IdempotencyRecord) == 1


async def test_a_refused_reuse_on_another_route_keeps_the_first_record(intake: Intake) -> None:
    """The same for routes that work in the request's session (Idempotency.run)."""
    logged = await intake.client.post("/complaints", json=complaint(), headers=intake.auth())
    path = f"/complaints/{logged.json()['id']}/consent"
    headers = {**intake.auth(), "Idempotency-Key": "consent-1"}
    first = await intake.client.post(path, json={"status": "refused"}, headers=headers)
    assert first.status_code == 200
    other = await intake.client.post(path, json={"status": "withdrawn"}, headers=headers)
    assert other.status_code == 409
    again = await intake.client.post(path, json={"status": "refused"}, headers=headers)
    assert again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert await count(intake, IdempotencyRecord) == 1
