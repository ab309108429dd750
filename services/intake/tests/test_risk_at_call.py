"""Risk at the call (issue 13.1): POST /complaints may carry the risk answers. One request
logs the complaint, scores it with the area's versioned matrix, raises RiskAssessed (a
high band alerts partners) and flags the victim's log vulnerable when the answers say so;
the response gives the band and what happens next. Answers given later still work."""

from __future__ import annotations

from sqlalchemy import select

from casebridge.intake.models import Complaint, Person, PersonVulnerability, RiskAssessment

from .conftest import POLICE, Intake
from .helpers import complaint, count, events, log
from .test_risk import HIGH, STANDARD

ASSESSED = "intake.risk.assessed.v1"
CHANGED = "intake.person.vulnerability_changed.v1"
VULNERABLE_REASONS = [
    "disability, long-term illness or mental health condition",
    "isolated, without support",
    "severe impact on health or wellbeing",
]


async def test_one_request_logs_scores_alerts_and_flags(intake: Intake) -> None:
    logged = await log(intake, complaint(risk_answers=HIGH))
    assert logged["risk_band"] == "high"
    assert logged["risk_next_step"] == "referred to the victim support officer; partners alerted"
    assert logged["vulnerable"] is True
    async with intake.sessions() as session:
        (assessment,) = await session.scalars(select(RiskAssessment))
        person = await session.get(Person, assessment.person_id)
        (flag,) = await session.scalars(select(PersonVulnerability))
    assert (assessment.score, assessment.band) == (27, "high")
    assert assessment.config_version == "default-2026.2"
    assert str(assessment.complaint_id) == logged["id"]
    assert person is not None
    assert person.vulnerable is True
    assert person.vulnerability_reasons == VULNERABLE_REASONS
    assert (flag.source, flag.assessment_id) == ("risk_answers", assessment.id)
    (alert,) = await events(intake, ASSESSED)
    assert (alert["band"], alert["complaint_id"]) == ("high", logged["id"])
    (changed,) = await events(intake, CHANGED)
    assert changed["person_id"] == logged["person_id"]
    assert (changed["vulnerable"], changed["previous"], changed["origin"]) == (
        True,
        False,
        "risk_answers",
    )
    assert "reasons" not in changed  # special category: the reasons stay in intake
    history = await intake.client.get(
        f"/complaints/{logged['id']}/risk-assessments", headers=intake.auth()
    )
    assert [h["band"] for h in history.json()] == ["high"]
    read = await intake.client.get(f"/complaints/{logged['id']}", headers=intake.auth())
    assert (read.json()["risk_band"], read.json()["vulnerable"]) == ("high", True)


async def test_standard_answers_say_so_and_flag_nothing(intake: Intake) -> None:
    logged = await log(intake, complaint(risk_answers=STANDARD))
    assert logged["risk_band"] == "standard"
    assert logged["risk_next_step"] == "recorded; the receiving agency follows it up"
    assert logged["vulnerable"] is False
    assert [e["band"] for e in await events(intake, ASSESSED)] == ["standard"]
    assert await events(intake, CHANGED) == []


async def test_wrong_answers_are_422_naming_each_and_record_nothing(intake: Intake) -> None:
    answers = {**HIGH, "targeted": "perhaps", "shoe_size": "9"}
    del answers["isolated"]
    headers = {**intake.auth(), "Idempotency-Key": "call-1"}
    response = await intake.client.post(
        "/complaints", json=complaint(risk_answers=answers), headers=headers
    )
    assert response.status_code == 422, response.text
    fields = {d["field"]: d["reason"] for d in response.json()["detail"]}
    assert fields["body.risk_answers.targeted"].startswith("must be one of")
    assert fields["body.risk_answers.shoe_size"] == "is not a question"
    assert fields["body.risk_answers.isolated"] == "is required"
    for model in (Complaint, Person, RiskAssessment, PersonVulnerability):
        assert await count(intake, model) == 0, model
    assert await events(intake) == []
    # The key was not spent: the corrected call goes through with it.
    again = await intake.client.post(
        "/complaints", json=complaint(risk_answers=HIGH), headers=headers
    )
    assert again.status_code == 201, again.text


async def test_without_answers_nothing_is_assessed(intake: Intake) -> None:
    logged = await log(intake, complaint())
    assert "risk_band" not in logged
    assert "risk_next_step" not in logged
    assert await count(intake, RiskAssessment) == 0


async def test_an_anonymous_report_is_assessed_without_a_log_to_flag(intake: Intake) -> None:
    body = complaint(risk_answers=HIGH, anonymous=True)
    del body["complainant"]
    logged = await log(intake, body)
    assert logged["risk_band"] == "high"
    assert "vulnerable" not in logged
    assert await count(intake, RiskAssessment) == 1
    assert await events(intake, CHANGED) == []


async def test_answers_given_later_still_work_and_flag_the_log_once(intake: Intake) -> None:
    logged = await log(intake, complaint())
    url = f"/complaints/{logged['id']}/risk-assessments"
    for agency in (None, POLICE):
        response = await intake.client.post(
            url, json={"answers": HIGH}, headers=intake.auth(agency)
        )
        assert response.status_code == 201, response.text
    (changed,) = await events(intake, CHANGED)  # the flag changed once
    assert changed["person_id"] == logged["person_id"]
    assert await count(intake, PersonVulnerability) == 1  # the second said nothing new
    again = await log(intake, complaint(risk_answers=HIGH))  # the same caller, known
    assert again["person_id"] == logged["person_id"]
    assert again["vulnerable"] is True
    assert len(await events(intake, CHANGED)) == 1
