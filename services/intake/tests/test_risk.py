from __future__ import annotations

from pathlib import Path

import pytest

from casebridge.intake.config import DEFAULT_PATH, AreaConfigError, AreaConfigs, load
from casebridge.intake.models import RiskAssessment

from .conftest import POLICE, Intake
from .helpers import complaint, count, events, log

HIGH = {
    "targeted": "yes",
    "hate_motivated": "yes",
    "disability_or_illness": "yes",
    "impact_on_health": "severe",
    "isolated": "yes",
    "fear_of_reprisal": "yes",
    "children_affected": "no",
    "previous_reports": "two_or_more",
    "feels_unsafe_at_home": "no",
}
STANDARD = dict.fromkeys(HIGH, "no") | {"impact_on_health": "none", "previous_reports": "none"}


async def test_high_band_is_announced_and_history_kept(intake: Intake) -> None:
    created = await log(intake, complaint())
    url = f"/complaints/{created['id']}/risk-assessments"
    first = await intake.client.post(url, json={"answers": STANDARD}, headers=intake.auth())
    assert first.status_code == 201, first.text
    assert (first.json()["band"], first.json()["score"]) == ("standard", 0)
    second = await intake.client.post(url, json={"answers": HIGH}, headers=intake.auth(POLICE))
    assert second.status_code == 201
    assert second.json()["band"] == "high"
    assert second.json()["score"] == 27
    assert second.json()["config_version"] == "default-2026.2"
    assessed = await events(intake, "intake.risk.assessed.v1")
    assert [e["band"] for e in assessed] == ["standard", "high"]
    assert assessed[1]["previous_band"] == "standard"
    history = (await intake.client.get(url, headers=intake.auth())).json()
    assert [h["band"] for h in history] == ["high", "standard"]


async def test_bad_answers_are_422_naming_each_and_record_nothing(intake: Intake) -> None:
    created = await log(intake, complaint())
    answers = {**HIGH, "targeted": "perhaps", "shoe_size": "9"}
    del answers["isolated"]
    response = await intake.client.post(
        f"/complaints/{created['id']}/risk-assessments",
        json={"answers": answers},
        headers=intake.auth(),
    )
    assert response.status_code == 422
    fields = {d["field"]: d["reason"] for d in response.json()["detail"]}
    assert fields["body.answers.targeted"].startswith("must be one of")
    assert fields["body.answers.shoe_size"] == "is not a question"
    assert fields["body.answers.isolated"] == "is required"
    assert await count(intake, RiskAssessment) == 0
    assert await events(intake, "intake.risk.assessed.v1") == []


async def test_question_set_is_published(intake: Intake) -> None:
    response = await intake.client.get("/risk/question-set", headers=intake.auth())
    assert response.status_code == 200
    assert response.json()["bands"] == {"standard": 0, "medium": 12, "high": 22}
    assert len(response.json()["questions"]) == 9


def test_an_area_file_replaces_the_default(tmp_path: Path) -> None:
    text = DEFAULT_PATH.read_text().replace("version: default-2026.2", "version: dmo-7")
    (tmp_path / "dmo.yaml").write_text(text)
    configs = AreaConfigs(tmp_path)
    assert configs.for_area("DMO").version == "dmo-7"
    assert configs.for_area("OTH").version == "default-2026.2"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("high: 22", "high: 5"), "bands.medium must be below bands.high"),
        (("high: 22", "high: 500"), "is above the top score"),
        (("- id: isolated", "- id: targeted"), "question ids must be unique"),
        (('unsure: 2, "yes": 4', 'unsure: -2, "yes": 4'), "must not be negative"),
        (("complaints: 3", "complaints: many"), "repeat_victim.complaints"),
        (("version: default-2026.2", "versio: x"), "version: Field required"),
        (("risk:", "risk: [oops"), "not valid YAML"),
    ],
)
def test_a_broken_area_file_fails_with_a_clear_message(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = tmp_path / "DMO.yaml"
    path.write_text(DEFAULT_PATH.read_text().replace(*change, 1))
    with pytest.raises(AreaConfigError) as caught:
        load(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)
