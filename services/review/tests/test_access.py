"""Reads of reviews leave a trace (issue 15 item 4): the review, its parts (history,
deadlines, letters, counting) and triggers; the receiving agency's DPO lists them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from casebridge.common.db import new_id
from casebridge.review.models import access_record
from casebridge.testing.harness import app_of

from .conftest import COUNCIL, POLICE, Review
from .test_reviews import apply


async def _records(review: Review) -> list[dict[str, Any]]:
    await app_of(review.client).state.access_log.flush()
    async with review.sessions() as session:
        rows = await session.execute(select(access_record).order_by(access_record.c.id))
        return [dict(r._mapping) for r in rows]


async def test_reading_a_review_and_its_history_leaves_one_record_each(review: Review) -> None:
    applied = await apply(review, new_id())
    assert await _records(review) == []  # the application's own answer is not a read
    reference = applied["reference"]
    headers = review.auth(sub="spoc-1") | {"Casebridge-Purpose": "case_review"}
    assert (await review.client.get(f"/reviews/{reference}", headers=headers)).is_success
    assert (await review.client.get(f"/reviews/{reference}/history", headers=headers)).is_success
    whole, history = await _records(review)
    assert (whole["record_type"], str(whole["record_id"])) == ("review", applied["id"])
    assert (whole["user_id"], whole["purpose"]) == ("spoc-1", "case_review")
    assert whole["controller_agency_ids"] == [COUNCIL]
    assert (history["record_id"], history["fields"]) == (whole["record_id"], ["history"])


async def test_the_receiving_agencys_dpo_lists_reads_of_its_review(review: Review) -> None:
    applied = await apply(review, new_id())
    await review.client.get(f"/reviews/{applied['reference']}", headers=review.auth(POLICE))
    await app_of(review.client).state.access_log.flush()

    mine = await review.client.get("/audit/access", headers=review.auth(roles=["dpo"]))
    assert mine.status_code == 200, mine.text
    ((item),) = mine.json()["items"]
    assert (item["record_id"], item["agency_id"]) == (applied["id"], str(POLICE))
    theirs = await review.client.get("/audit/access", headers=review.auth(POLICE, roles=["dpo"]))
    assert theirs.json()["items"] == []
    assert (await review.client.get("/audit/access", headers=review.auth())).status_code == 403
