"""The applicant's own view (issue 15 item 3): the reference and the access code from the
acknowledgement letter show the review's progress and nothing about anyone else; a wrong
code is a 404 like an unknown reference; tries are limited; the SPOC re-issues a code."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from casebridge.common.db import new_id
from casebridge.review.models import ApplicantAccess, ReviewLetter

from .conftest import POLICE, Review
from .test_reviews import VICTIM, act, apply, complaints_for

HEADER = "Casebridge-Access-Code"


async def _acknowledged(review: Review, ages: list[int] | None = None) -> tuple[str, str]:
    person = new_id()
    await complaints_for(review, person, ages or [90, 40, 5])
    reference = (await apply(review, person))["reference"]
    acknowledged = await act(review, reference, "acknowledge")
    assert acknowledged.status_code == 200, acknowledged.text
    return reference, acknowledged.json()["access_code"]


async def _view(review: Review, reference: str, code: str | None) -> httpx.Response:
    headers = {HEADER: code} if code is not None else {}
    return await review.client.get(f"/applicant/reviews/{reference}", headers=headers)


async def test_the_right_code_shows_progress_and_nobody_else(review: Review) -> None:
    reference, code = await _acknowledged(review)
    assert len(code) == 14
    assert code.count("-") == 2
    response = await _view(review, reference, code.lower().replace("-", " "))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["reference"] == reference
    assert body["stage"] == "threshold_met"  # three qualifying complaints: met by law
    assert body["decision"]["threshold_met"] is True
    assert "3 qualifying complaints" in body["decision"]["reasons"]
    assert body["spoc"]["email"] == "casereview@demo-council.example"
    assert body["next_deadline"]["working_days_left"] >= 0
    # Nothing about anyone: no name, contact, summary, person, agency, complaint reference.
    for secret in (VICTIM["applicant_name"], VICTIM["applicant_contact"], VICTIM["summary"]):
        assert secret not in response.text
    assert "DMO-" not in response.text.replace(reference, "")
    assert str(POLICE) not in response.text
    assert "person_id" not in body
    assert "complaint_ids" not in body


async def test_a_wrong_code_is_the_same_404_as_an_unknown_reference(review: Review) -> None:
    reference, code = await _acknowledged(review)
    wrong = await _view(review, reference, "ABCD-EFGH-JKMN")
    unknown = await _view(review, "CR-DMO-2026-999999", code)
    missing = await _view(review, reference, None)
    assert wrong.status_code == unknown.status_code == missing.status_code == 404
    assert wrong.json() == unknown.json() == missing.json()


async def test_tries_are_limited_per_reference_even_for_the_right_code(review: Review) -> None:
    reference, code = await _acknowledged(review)
    for _ in range(review.settings.applicant_tries_per_reference):
        assert (await _view(review, reference, "0000-0000-0000")).status_code == 404
    refused = await _view(review, reference, code)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert refused.json()["error"] == "too_many_tries"


async def test_tries_are_limited_per_source_across_references(review: Review) -> None:
    reference, code = await _acknowledged(review)
    for n in range(review.settings.applicant_tries_per_source):
        assert (await _view(review, f"CR-DMO-2026-{900000 + n}", code)).status_code == 404
    assert (await _view(review, reference, code)).status_code == 429


async def test_the_spoc_reissues_a_code_and_the_old_one_stops_working(review: Review) -> None:
    reference, old = await _acknowledged(review)
    issued = await review.client.post(f"/reviews/{reference}/access-code", headers=review.auth())
    assert issued.status_code == 201, issued.text
    new = issued.json()["access_code"]
    assert new != old
    assert (await _view(review, reference, old)).status_code == 404
    assert (await _view(review, reference, new)).status_code == 200
    async with review.sessions() as session:
        access = await session.scalar(select(ApplicantAccess))
        letters = list(await session.scalars(select(ReviewLetter)))
    assert access is not None
    assert access.issue == 2
    assert old not in access.code_hash
    assert new not in access.code_hash
    kinds = {letter.kind for letter in letters}
    assert {"acknowledgement", "access_code"} <= kinds
    for letter in letters:  # the letters kept show the code masked, never the code
        assert old not in letter.html
        assert new not in letter.html
    assert any("XXXX-XXXX-XXXX" in letter.html for letter in letters)


async def test_only_the_spoc_agency_reissues(review: Review) -> None:
    reference, code = await _acknowledged(review)
    refused = await review.client.post(
        f"/reviews/{reference}/access-code", headers=review.auth(POLICE)
    )
    assert refused.status_code == 403
    assert (await _view(review, reference, code)).status_code == 200


async def test_no_code_before_the_application_is_acknowledged(review: Review) -> None:
    reference = (await apply(review, new_id()))["reference"]
    refused = await review.client.post(f"/reviews/{reference}/access-code", headers=review.auth())
    assert refused.status_code == 409
