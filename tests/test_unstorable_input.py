"""No string a client sends makes a server error (issue 8, item 4): a NUL byte, a lone
surrogate and an over-long value go to EVERY string input of EVERY operation of every
service (query, path, header, JSON body field at any depth, form field), each read from
the app's own OpenAPI document, against the real app and database. Each must be refused
(4xx) or stored; never a 5xx."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.dialects.postgresql import insert

from casebridge.common.auth import SCOPES, service_of_scope
from casebridge.common.settings import BaseServiceSettings
from casebridge.devstack.demo import DEMO_AGENCIES, DEMO_AREA_CODE, DEMO_AREA_ID, DEMO_AREA_NAME
from casebridge.intake import models as intake_models
from casebridge.intake.main import create_app as intake_app
from casebridge.intake.open311.service import key_digest
from casebridge.intake.settings import Settings as IntakeSettings
from casebridge.review.main import create_app as review_app
from casebridge.review.settings import Settings as ReviewSettings
from casebridge.sharing import models as sharing_models
from casebridge.sharing.main import create_app as sharing_app
from casebridge.sharing.settings import Settings as SharingSettings
from casebridge.stats.main import create_app as stats_app
from casebridge.stats.settings import Settings as StatsSettings
from casebridge.testing.harness import rollback_client
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.tokens import TokenFactory
from tests.openapi_inputs import Operation, Spec, StringInput, put

COUNCIL, _ = DEMO_AGENCIES["council"]
OPEN311_KEY = "unstorable-input-test-key"
APPS: dict[str, tuple[Callable[..., FastAPI], type[BaseServiceSettings]]] = {
    "intake": (intake_app, IntakeSettings),
    "sharing": (sharing_app, SharingSettings),
    "review": (review_app, ReviewSettings),
    "stats": (stats_app, StatsSettings),
}
# How each bad value travels: as text in JSON, as percent-encoded bytes in a URL or a form
# (the UTF-8 bytes a careless client would produce for a lone surrogate), as raw header bytes.
BAD = ("NUL", "lone surrogate", "over-long")


def text_value(kind: str, limit: int | None) -> str:
    return {"NUL": "a\x00b", "lone surrogate": "a\ud800b"}.get(kind) or "x" * over(limit)


def url_value(kind: str, limit: int | None) -> str:
    return {"NUL": "a%00b", "lone surrogate": "a%ED%A0%80b"}.get(kind) or "x" * over(limit)


def header_value(kind: str, limit: int | None) -> bytes:
    return {"NUL": b"a\x00b", "lone surrogate": b"a\xed\xa0\x80b"}.get(kind) or b"x" * over(limit)


def over(limit: int | None) -> int:
    return (limit or 20_000) + 1


# Values that get a request past authentication and format checks to the database.
KNOWN = {"api_key": OPEN311_KEY, "format": "json", "grant_type": "client_credentials"}


def defaults(spec: Spec, operation: Operation) -> tuple[dict[str, str], dict[str, str]]:
    """Plain values of the operation's path parameters, and its api_key if it takes one."""
    path, query = {}, {}
    for parameter in operation.spec.get("parameters", []):
        parameter = spec.resolve(parameter)
        name = parameter["name"]
        value = KNOWN.get(name) or str(spec.instance(parameter["schema"]))
        if parameter["in"] == "path":
            path[name] = quote(value, safe="")
        elif parameter["in"] == "query" and name in KNOWN:
            query[name] = quote(value, safe="")
    return path, query


def request_for(spec: Spec, operation: Operation, target: StringInput, kind: str) -> httpx.Request:
    """The operation called with plain values everywhere and the bad one at `target`."""
    path_values, query_values = defaults(spec, operation)
    headers: dict[str, Any] = {}
    content: bytes | None = None
    name = target.name[0]
    if target.location == "path":
        path_values[name] = url_value(kind, target.max_length)
    elif target.location == "query":
        query_values[quote(name)] = url_value(kind, target.max_length)
    elif target.location == "header":
        headers[name] = header_value(kind, target.max_length)
    body = operation.spec.get("requestBody", {}).get("content", {})
    if "application/json" in body:
        document = spec.instance(body["application/json"]["schema"])
        if target.location == "json":
            document = put(document, target.name, text_value(kind, target.max_length))
        content = json.dumps(document).encode()  # ASCII: a lone surrogate travels as \\ud800
        headers["Content-Type"] = "application/json"
    elif "application/x-www-form-urlencoded" in body:
        plain = spec.instance(body["application/x-www-form-urlencoded"]["schema"])
        form = {k: quote(KNOWN.get(k) or str(v)) for k, v in plain.items()}
        if target.location == "form":
            form[name] = url_value(kind, target.max_length)
        content = "&".join(f"{quote(k)}={v}" for k, v in form.items()).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    query = "&".join(f"{k}={v}" for k, v in query_values.items())
    url = operation.path.format(**path_values) + (f"?{query}" if query else "")
    return httpx.Request(operation.method, "http://test" + url, headers=headers, content=content)


async def seed(service: str, sessions: Any) -> None:
    """The demo area and its agencies, so bodies get past "unknown area" to the database."""
    models = {"intake": intake_models, "sharing": sharing_models}.get(service)
    if models is None:
        return
    async with sessions() as session:
        area = {"id": DEMO_AREA_ID, "code": DEMO_AREA_CODE, "name": DEMO_AREA_NAME}
        await session.execute(insert(models.Area).values(area).on_conflict_do_nothing())
        for kind, (agency_id, name) in DEMO_AGENCIES.items():
            agency = {"id": agency_id, "area_id": DEMO_AREA_ID, "name": name, "kind": kind}
            table = models.PartnerAgency if service == "intake" else models.Agency
            await session.execute(insert(table).values(agency).on_conflict_do_nothing())
        if service == "intake":
            session.add(
                intake_models.Open311Client(
                    name="Test app", api_key_sha256=key_digest(OPEN311_KEY),
                    area_id=DEMO_AREA_ID, agency_id=COUNCIL,
                )
            )  # fmt: skip
        await session.commit()


@asynccontextmanager
async def service_client(
    service: str, url: str, tokens: TokenFactory, tmp_path: Path, nats_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    create, settings_cls = APPS[service]
    extra = {"signing_key_file": tmp_path / "key.json"} if service == "sharing" else {}
    settings = settings_cls(database_url=url, nats_url=nats_url, log_json=False, **extra)
    async with rollback_client(create, settings, tokens) as (client, sessions):
        await seed(service, sessions)
        client.headers.update(
            tokens.headers(
                scopes=[s for s in SCOPES if service_of_scope(s) == service],
                agency_id=COUNCIL,
                area_id=DEMO_AREA_ID,
                audience=settings.audience_or_default(),
            )
        )
        yield client


@pytest.mark.parametrize("service", list(APPS))
async def test_no_string_input_makes_a_server_error(
    service: str,
    migrated_database: MigratedDatabase,
    tokens: TokenFactory,
    nats_server: Any,
    tmp_path: Path,
) -> None:
    url = await migrated_database(service)
    async with service_client(service, url, tokens, tmp_path, nats_server.url) as client:
        spec = Spec((await client.get("/openapi.json")).json())
        sent, failures = 0, []
        for operation in spec.operations():
            for target in spec.inputs(operation):
                for kind in BAD:
                    request = request_for(spec, operation, target, kind)
                    for name, value in client.headers.items():
                        request.headers.setdefault(name, value)
                    response = await client.send(request)
                    sent += 1
                    if response.status_code >= 500:
                        failures.append(
                            f"{operation.method} {operation.path} {target.location} "
                            f"{'.'.join(target.name)} {kind}: {response.status_code}"
                        )
    assert sent >= 6, "the OpenAPI walk found too few inputs"
    assert not failures, "\n".join(failures)
