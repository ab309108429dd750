"""Bad input is a 422 naming the field, never a 500 (schemathesis' classic FastAPI +
PostgreSQL bugs: NUL bytes, int32 overflow, unknown fields, over-long strings); an
oversized body is a 413 before anything parses it (API4)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from casebridge.common.settings import BaseServiceSettings
from casebridge.intake.main import create_app as intake_app
from casebridge.intake.settings import Settings as IntakeSettings
from casebridge.review.main import create_app as review_app
from casebridge.review.settings import Settings as ReviewSettings
from casebridge.stats.main import create_app as stats_app
from casebridge.stats.settings import Settings as StatsSettings
from casebridge.testing.harness import committed_client
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.tokens import TokenFactory
from tests.conftest import COMPLAINT

APPLICATION = {
    "applicant_kind": "victim",
    "person_id": str(uuid.uuid4()),
    "summary": "Three months of noise",
}

# (name, service, method, path, json body or None, query params or None, field named)
CASES: list[tuple[str, str, str, str, Any, Any, str]] = [
    (
        "unknown field",
        "intake",
        "POST",
        "/complaints",
        COMPLAINT | {"owning_agency": "x"},
        None,
        "owning_agency",
    ),
    (
        "NUL byte",
        "intake",
        "POST",
        "/complaints",
        COMPLAINT | {"description": "a\x00b"},
        None,
        "description",
    ),
    (
        "over-long string",
        "intake",
        "POST",
        "/complaints",
        COMPLAINT | {"description": "x" * 20_000},
        None,
        "description",
    ),
    (
        "huge integer",
        "intake",
        "POST",
        "/complaints",
        COMPLAINT | {"location": {"postcode": "SW1A 1AA", "uprn": 10**30}},
        None,
        "uprn",
    ),
    ("huge page size", "intake", "GET", "/complaints", None, {"limit": 10**20}, "limit"),
    ("NUL in query", "intake", "GET", "/complaints", None, {"postcode": "SW1\x00"}, "postcode"),
    (
        "unknown field",
        "review",
        "POST",
        "/reviews",
        APPLICATION | {"status": "closed"},
        None,
        "status",
    ),
    ("NUL byte", "review", "POST", "/reviews", APPLICATION | {"summary": "\x00"}, None, "summary"),
    ("huge page size", "review", "GET", "/triggers", None, {"limit": 2**40}, "limit"),
    (
        "bad date",
        "stats",
        "GET",
        "/stats/complaints",
        None,
        {"date_from": "2026-13-45"},
        "date_from",
    ),
    ("unknown query field", "stats", "GET", "/stats/complaints", None, {"owner": "B"}, "owner"),
    # JSON's own types only (issue 8, items 7 and 8): no number is a date, no text a boolean
    # or a number; and a number in a query string is not a date either.
    ("number as a date", "intake", "GET", "/complaints", None, {"reported_from": "304684336"},
     "reported_from"),
    ("number as a date", "intake", "POST", "/complaints", COMPLAINT | {"occurred_at": 304684336},
     None, "occurred_at"),
    ("text as a boolean", "intake", "POST", "/complaints", COMPLAINT | {"hate_motivated": "true"},
     None, "hate_motivated"),
    ("number as a boolean", "intake", "POST", "/complaints", COMPLAINT | {"anonymous": 0}, None,
     "anonymous"),
    ("text as a number", "intake", "POST", "/complaints",
     COMPLAINT | {"location": {"postcode": "SW1A 1AA", "uprn": "12"}}, None, "uprn"),
    ("fraction as a number", "intake", "POST", "/complaints",
     COMPLAINT | {"location": {"postcode": "SW1A 1AA", "uprn": 12.0}}, None, "uprn"),
    ("text as a boolean", "review", "POST", "/reviews", APPLICATION | {"anonymous": "false"},
     None, "anonymous"),
    ("number as a date", "stats", "GET", "/stats/complaints", None, {"date_from": "20260101"},
     "date_from"),
]  # fmt: skip

APPS: dict[str, tuple[Callable[..., FastAPI], type[BaseServiceSettings], list[str]]] = {
    "intake": (intake_app, IntakeSettings, ["complaints:write", "complaints:read"]),
    "review": (review_app, ReviewSettings, ["reviews:write", "reviews:read"]),
    "stats": (stats_app, StatsSettings, ["stats:read"]),
}


@pytest.fixture(scope="module")
async def databases(migrated_database: MigratedDatabase) -> dict[str, str]:
    """Each service's own database: a caller is authenticated (its token, its client not
    revoked, its agency as the registry knows it) before its input is validated."""
    return {service: await migrated_database(service) for service in APPS}


async def call(
    databases: dict[str, str],
    service: str,
    tokens: TokenFactory,
    method: str,
    path: str,
    body: Any = None,
    params: Any = None,
    content: bytes | AsyncIterator[bytes] | None = None,
) -> httpx.Response:
    create, settings_cls, scopes = APPS[service]
    settings = settings_cls(database_url=databases[service], log_json=False)
    headers = tokens.headers(
        scopes=scopes,
        agency_id=uuid.uuid4(),
        area_id=uuid.uuid4(),
        audience=settings.audience_or_default(),
    )
    async with committed_client(create, settings, tokens) as client:
        if content is not None:
            headers["Content-Type"] = "application/json"
            return await client.request(method, path, content=content, headers=headers)
        return await client.request(method, path, json=body, params=params, headers=headers)


@pytest.mark.parametrize(
    ("name", "service", "method", "path", "body", "params", "field"),
    CASES,
    ids=[f"{c[1]}-{c[0]}" for c in CASES],
)
async def test_bad_input_is_422_naming_the_field(
    name: str,
    service: str,
    method: str,
    path: str,
    body: Any,
    params: Any,
    field: str,
    tokens: TokenFactory,
    databases: dict[str, str],
) -> None:
    response = await call(databases, service, tokens, method, path, body, params)
    assert response.status_code == 422, (name, response.text)
    payload = response.json()
    assert payload["error"] == "validation_error"
    assert any(field in item["field"] for item in payload["detail"]), payload


async def test_oversized_body_is_413(tokens: TokenFactory, databases: dict[str, str]) -> None:
    huge = b'{"description": "' + b"x" * 300_000 + b'"}'
    response = await call(databases, "intake", tokens, "POST", "/complaints", content=huge)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


async def test_oversized_body_without_a_length_is_413(
    tokens: TokenFactory, databases: dict[str, str]
) -> None:
    """Sent in chunks, with no Content-Length: refused once the limit is passed, still 413."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"description": "'
        for _ in range(40):
            yield b"x" * 10_000
        yield b'"}'

    response = await call(databases, "intake", tokens, "POST", "/complaints", content=chunks())
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


async def test_malformed_json_is_400(tokens: TokenFactory, databases: dict[str, str]) -> None:
    """A body that is not JSON at all is not a request with an invalid field (422): 400."""
    response = await call(
        databases, "intake", tokens, "POST", "/complaints", content=b'{"channel": '
    )
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_body"
