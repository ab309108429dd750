"""Publishing and reading an area's information-sharing protocol: a valid document becomes
the next version (who, when, diff; announced), an invalid one changes nothing and is refused
with every problem and its path."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import func, select

from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.sharing.models import PublishedProtocol

from .conftest import (
    COUNCIL,
    OTHER_AGENCY,
    OTHER_AREA,
    POLICE,
    Sharing,
    protocol_document,
    protocol_yaml,
)
from .test_handlers import outbox

PATH = f"/areas/{DEMO_AREA_ID}/protocol"
YAML = {"Content-Type": "application/yaml"}


async def publish(
    sharing: Sharing, body: str | bytes, content_type: str = "application/yaml", **auth: Any
) -> httpx.Response:
    headers = sharing.admin(**auth) | {"Content-Type": content_type}
    return await sharing.client.put(PATH, content=body, headers=headers)


async def published(sharing: Sharing) -> int:
    async with sharing.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(PublishedProtocol)) or 0)


async def announcements(sharing: Sharing) -> list[dict[str, Any]]:
    return [m.payload["data"] for m in await outbox(sharing, "registry.protocol.published.v1")]


async def test_a_valid_protocol_becomes_version_one(sharing: Sharing) -> None:
    response = await publish(sharing, protocol_yaml())
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["version"] == 1
    assert body["published_by_client"] == f"client-{COUNCIL}"
    assert body["published_by_subject"] == f"client-{COUNCIL}"
    assert body["diff"].startswith("--- /dev/null\n+++ version 1\n")
    assert body["document"]["title"] == protocol_document()["title"]
    (announced,) = await announcements(sharing)
    assert announced["protocol_version"] == 1
    assert announced["document"] == body["document"]


async def test_every_agency_of_the_area_reads_it_as_json_or_yaml(sharing: Sharing) -> None:
    await publish(sharing, protocol_yaml())
    police = sharing.auth(POLICE)
    as_json = await sharing.client.get(PATH, headers=police)
    assert as_json.status_code == 200
    assert as_json.json()["version"] == 1
    as_yaml = await sharing.client.get(PATH, headers=police | {"Accept": "application/yaml"})
    assert as_yaml.status_code == 200
    assert as_yaml.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(as_yaml.text)["format"] == "casebridge-isp/1"
    assert as_yaml.text == as_json.json()["text"]
    for path in (PATH, f"{PATH}/versions", f"{PATH}/versions/1"):
        other = await sharing.client.get(
            path.replace(str(DEMO_AREA_ID), str(OTHER_AREA)),
            headers=sharing.auth(OTHER_AGENCY, area=OTHER_AREA),
        )
        assert other.status_code in (200, 404)
        assert "casebridge-isp" not in other.text  # another area's document never shows
        mine_from_outside = await sharing.client.get(
            path, headers=sharing.auth(OTHER_AGENCY, area=OTHER_AREA)
        )
        assert mine_from_outside.status_code == 404


async def test_republishing_the_same_document_changes_nothing(sharing: Sharing) -> None:
    first = await publish(sharing, protocol_yaml())
    again = await publish(sharing, json.dumps(protocol_document()), "application/json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["version"] == 1
    assert len(await announcements(sharing)) == 1


async def test_a_new_version_records_who_when_and_the_diff(sharing: Sharing) -> None:
    await publish(sharing, protocol_yaml())
    changed = protocol_document(title="Demo CSP protocol, second edition")
    second = await publish(
        sharing, json.dumps(changed), "application/json; charset=utf-8", agency=POLICE
    )
    assert second.status_code == 201, second.text
    assert second.json()["version"] == 2
    diff = second.json()["diff"]
    assert "--- version 1\n+++ version 2\n" in diff
    assert "-title: Community Safety Partnership" in diff
    assert "+title: Demo CSP protocol, second edition" in diff
    page = (await sharing.client.get(f"{PATH}/versions", headers=sharing.auth(POLICE))).json()
    assert [(v["version"], v["published_by_client"]) for v in page["items"]] == [
        (2, f"client-{POLICE}"),
        (1, f"client-{COUNCIL}"),
    ]
    first = await sharing.client.get(f"{PATH}/versions/1", headers=sharing.auth(POLICE))
    assert first.json()["document"]["title"] != changed["title"]
    current = await sharing.client.get(PATH, headers=sharing.auth(POLICE))
    assert current.json()["version"] == 2
    missing = await sharing.client.get(f"{PATH}/versions/3", headers=sharing.auth(POLICE))
    assert missing.status_code == 404
    assert [a["protocol_version"] for a in await announcements(sharing)] == [1, 2]


def broken() -> dict[str, Any]:
    """A document with one problem of each kind, each at a path a DPO can find."""
    data = protocol_document()
    rules = copy.deepcopy(data["rules"])
    rules[0]["data"] = "tenancy"  # rules.0.data
    rules[1]["allow"] = [*rules[1]["allow"], "blood_group"]  # rules.1.allow.<n>
    rules[2]["allow"] = [*rules[2]["allow"], "address"]  # the landlord and identity
    rules[3]["purpose"] = "curiosity"  # rules.3.purpose
    rules[4]["to"] = ["neighbours"]  # rules.4.to.0
    rules[5]["allow"] = ["id", "vulnerability_reasons"]  # free text without clearance
    data["rules"] = rules
    data["retention_months"] = {**data["retention_months"], "complaint": 0}
    del data["signed_off_by"]
    return data


async def test_an_invalid_protocol_lists_every_problem_and_changes_nothing(
    sharing: Sharing,
) -> None:
    await publish(sharing, protocol_yaml())
    response = await publish(sharing, yaml.safe_dump(broken()))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_protocol"
    paths = {problem["field"]: problem["reason"] for problem in body["detail"]}
    allow = len(protocol_document()["rules"][1]["allow"])
    assert set(paths) >= {
        "signed_off_by",  # the document's shape ...
        "rules.4.to.0",
        "rules.0.data",  # ... and the rules' own problems, in one answer
        f"rules.1.allow.{allow}",
        "rules.2.allow",
        "rules.3.purpose",
        "rules.5.allow",
        "retention_months.complaint",
    }, paths
    assert "landlord" in paths["rules.2.allow"]
    assert await published(sharing) == 1
    assert len(await announcements(sharing)) == 1
    current = await sharing.client.get(PATH, headers=sharing.auth(POLICE))
    assert current.json()["version"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("format: [unclosed", ""),
        ("just a string", ""),
        ("a: &x [1]\nb: *x\n", ""),  # aliases: refused before anything is built
        ("", ""),
        (protocol_yaml(review_date=(date.today() - timedelta(days=1)).isoformat()), "review_date"),
        (protocol_yaml(format="casebridge-isp/2"), "format"),
        (protocol_yaml(title="nul \x00 here"), "title"),  # YAML writes it as "\0"
        (json.dumps(protocol_document(title="\ud800")), "title"),  # a lone surrogate
    ],
)
async def test_unusable_documents_are_refused(sharing: Sharing, body: str, field: str) -> None:
    response = await publish(sharing, body)
    assert response.status_code == 422, response.text
    assert field in {p["field"] for p in response.json()["detail"]}
    assert await published(sharing) == 0


async def test_json_that_does_not_parse_and_other_media_types(sharing: Sharing) -> None:
    bad_json = await publish(sharing, "{not json", "application/json")
    assert bad_json.status_code == 422
    assert bad_json.json()["detail"][0]["reason"].startswith("not JSON")
    surrogate = await publish(sharing, '{"title": "\\ud800"}', "application/json")
    assert surrogate.status_code == 422
    assert surrogate.json()["detail"] == [
        {"field": "title", "reason": "must not contain NUL characters or lone surrogates"}
    ]
    form = await publish(sharing, "a=b", "application/x-www-form-urlencoded")
    assert form.status_code == 415
    assert await published(sharing) == 0


async def test_only_the_areas_administrator_publishes(sharing: Sharing) -> None:
    body = protocol_yaml()
    reader = await sharing.client.put(PATH, content=body, headers=sharing.auth(POLICE) | YAML)
    no_role = await sharing.client.put(
        PATH, content=body, headers=sharing.auth(scopes=["shares:admin"]) | YAML
    )
    other_area = await sharing.client.put(
        f"/areas/{OTHER_AREA}/protocol", content=body, headers=sharing.admin() | YAML
    )
    assert (reader.status_code, no_role.status_code, other_area.status_code) == (403, 403, 404)
    assert await published(sharing) == 0
