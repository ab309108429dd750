"""Schemathesis against every service's app (issue 8, TEST-R1): in process (ASGI), on a
real PostgreSQL, with a real token holding every scope of the service; every check,
positive and negative data, 50 examples per operation, a fixed seed. Pass: no server
error and no response that breaks the documented schema, status or headers.

It runs as its own target (`make fuzz`, called by `.ci/run` after `make test`); `make test`
leaves it out (the `fuzz` marker)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from casebridge.common.auth import ROLES, SCOPES, service_of_scope
from casebridge.common.pagination import Cursor
from casebridge.common.settings import BaseServiceSettings
from casebridge.devstack import NatsServer
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
from casebridge.testing.harness import trust
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.tokens import TokenFactory

pytestmark = pytest.mark.fuzz

COUNCIL, _ = DEMO_AGENCIES["council"]
OPEN311_KEY = "schemathesis-open311-key"
SEED = 20261129
EXAMPLES = 50

CONFIG: dict[str, Any] = {
    "seed": SEED,
    "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True},
    "checks": {"enabled": True},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}},
}

# Narrow settings, each for a reason the schema cannot carry:
#
# A list's cursor is an opaque value the service issued: any other string is a 422, and no
# pattern can say which strings decode. Schemathesis is given one the service issues, as a
# client would have it from next_cursor (as it is given the token and Open311's api_key).
CURSORS = {
    "intake": Cursor(datetime.now(UTC), uuid.uuid4()).encode(),
    "review": Cursor(datetime.now(UTC), uuid.uuid4()).encode(),
}
# Rules JSON Schema cannot state, so a schema-valid request can still be refused with the
# 422 (or, in Open311, the 400) that names the field: times relative to now or to each
# other (not in the future; occurred_at before reported_at; Open311's 90-day window),
# real phone numbers, UK postcodes and Casebridge references (a check character).
# positive_data_acceptance takes that status too on these operations, and on no other.
SEMANTIC_RULES: dict[str, list[tuple[str, int]]] = {
    "intake": [
        ("POST /complaints", 422),
        ("POST /complaints/{complaint_id}/consent", 422),
        ("GET /complaints", 422),
        ("GET /people", 422),
        ("GET /audit/access", 422),  # `to` after `from`
        ("POST /open311/v2/requests.{format}", 400),
        ("GET /open311/v2/requests.{format}", 400),
    ],
    # Review's own rules (issue 11 owns review's schemas): an applicant's name and contact
    # are required unless the victim applies themselves; a vote is met or an abstention,
    # not both; not_older_than needs the complaint_id it is for (OpenAPI cannot relate two
    # query parameters); an area procedure is a YAML document whose meaning (thresholds,
    # a panel of the area's agencies) no schema states.
    "review": [
        ("POST /reviews", 422),
        ("POST /reviews/{reference}/votes", 422),
        ("GET /reviews/{reference}/counting", 422),
        ("PUT /config", 422),
        ("GET /audit/access", 422),  # `to` after `from`
    ],
    # Stats' relations between parameters: a range needs both dates, in order; a measure has
    # its own breakdowns and filters; a quarter's two years follow each other.
    # Sharing: a partner update's due date is today or later, within two years, and goes
    # with the next step it is the due date of (relative to now; relating two fields).
    "sharing": [("POST /cases/{reference}/updates", 422)],
    "stats": [
        ("GET /stats/case-reviews", 422),
        ("GET /stats/monthly/{measure}", 422),
        ("GET /stats/data-return", 422),
    ],
}
# Per-operation parameters: the access audit pages by record id (a UUID cursor, like
# sharing's lists), and the feed's long poll would hold every request for `wait` seconds,
# past schemathesis' request timeout (the long poll has its own tests).
OWN_PARAMETERS: dict[str, dict[str, dict[str, Any]]] = {
    "intake": {"GET /audit/access": {"query.cursor": str(uuid.uuid4())}},
    "review": {"GET /audit/access": {"query.cursor": str(uuid.uuid4())}},
    "sharing": {"GET /feed": {"query.wait": 0}},
}
# PUT /config takes YAML text: schemathesis' schema-violating bodies (an object, a number)
# are serialised to YAML text, which can be a valid procedure (`{}` is: every default).
NEGATIVE_IS_TEXT = {"review": ["PUT /config"]}


def operations(service: str) -> list[dict[str, Any]]:
    """Per-operation settings, one entry per operation (by its label, `METHOD /path`)."""
    checks: dict[str, dict[str, Any]] = {}
    for label, status in SEMANTIC_RULES.get(service, []):
        expected = ["2XX", 401, 403, 404, 409, status]
        checks.setdefault(label, {})["positive_data_acceptance"] = {"expected-statuses": expected}
    for label in NEGATIVE_IS_TEXT.get(service, []):
        checks.setdefault(label, {})["negative_data_rejection"] = {"enabled": False}
    own_parameters = OWN_PARAMETERS.get(service, {})
    return [
        {"include-name": label, "checks": checks.get(label, {}), "parameters": parameters}
        if (parameters := own_parameters.get(label))
        else {"include-name": label, "checks": checks[label]}
        for label in sorted(set(checks) | set(own_parameters))
    ]


APPS: dict[str, tuple[Callable[..., FastAPI], type[BaseServiceSettings]]] = {
    "intake": (intake_app, IntakeSettings),
    "sharing": (sharing_app, SharingSettings),
    "review": (review_app, ReviewSettings),
    "stats": (stats_app, StatsSettings),
}


async def seed(service: str, url: str) -> None:
    """The demo area and its agencies (and Open311's app), so requests reach their rules."""
    models = {"intake": intake_models, "sharing": sharing_models}.get(service)
    if models is None:
        return
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.begin() as conn:
        area = {"id": DEMO_AREA_ID, "code": DEMO_AREA_CODE, "name": DEMO_AREA_NAME}
        await conn.execute(insert(models.Area).values(area).on_conflict_do_nothing())
        for kind, (agency_id, name) in DEMO_AGENCIES.items():
            agency = {"id": agency_id, "area_id": DEMO_AREA_ID, "name": name, "kind": kind}
            if service == "intake":
                agency["core_partner"] = True
            table = intake_models.PartnerAgency if service == "intake" else models.Agency
            await conn.execute(insert(table).values(agency).on_conflict_do_nothing())
        if service == "intake":
            await conn.execute(
                insert(intake_models.Open311Client).values(
                    name="Fuzzed app", api_key_sha256=key_digest(OPEN311_KEY),
                    area_id=DEMO_AREA_ID, agency_id=COUNCIL,
                )
            )  # fmt: skip
    await engine.dispose()


def fuzzed_roles(service: str) -> list[str]:
    """Every role, so every operation is reached (docs/roles.md); except sharing's
    administration and audit, which were never fuzzed past their role check (before issue 15
    the fuzz token had no roles) and whose request schemas still say less than their
    validators do (police_force_code for a non-police agency, a webhook url, core_partner
    null, an audit range backwards): reached once those schemas say it."""
    if service == "sharing":
        return [r for r in ROLES if r not in ("partnership_admin", "dpo")]
    return list(ROLES)


async def loaded(
    service: str,
    migrated_database: MigratedDatabase,
    tokens: TokenFactory,
    data_dir: Path,
    nats_url: str,
) -> Any:
    create, settings_cls = APPS[service]
    url = await migrated_database(service)
    await seed(service, url)
    extra = {"signing_key_file": data_dir / "key.json"} if service == "sharing" else {}
    settings = settings_cls(
        database_url=url, nats_url=nats_url, log_json=False, log_level="WARNING", **extra
    )
    app = create(settings)
    trust(app, tokens, settings)
    token = tokens.make(
        scopes=[s for s in SCOPES if service_of_scope(s) == service],
        roles=fuzzed_roles(service),
        agency_id=COUNCIL,
        area_id=DEMO_AREA_ID,
        audience=settings.audience_or_default(),
        lifetime=3600,
    )
    parameters = {"query.cursor": CURSORS[service]} if service in CURSORS else {}
    config = SchemathesisConfig.from_dict(
        CONFIG
        | {
            "headers": {"Authorization": f"Bearer {token}"},
            "parameters": parameters,
            "operations": operations(service),
        }
    )
    # Loading starts the app (its lifespan) in schemathesis' own event loop thread.
    return await asyncio.to_thread(
        schemathesis.openapi.from_asgi, "/openapi.json", app, config=config
    )


def run(schema: Any) -> tuple[list[str], int]:
    """Every phase the CLI runs (examples, coverage, fuzzing, stateful) with every check;
    the failures found, and how many test cases ran."""
    failures: list[str] = []
    cases = 0
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            cases += len(event.recorder.cases)
            for case_id, checks in event.recorder.checks.items():
                interaction = event.recorder.interactions.get(case_id)
                response = interaction.response if interaction else None
                answer = f"{response.status_code} {response.content[:300]!r}" if response else "-"
                for check in checks:
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        failure = check.failure_info.failure
                        failures.append(
                            f"{event.phase.value} {event.label}: {check.name}: {failure.title}"
                            f"\n{failure.message}\n{check.failure_info.code_sample}"
                            f"\nanswered: {answer}"
                        )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            failures.append(f"error {getattr(event, 'label', '')}: {event.info.format()}")
    return failures, cases


@pytest.mark.parametrize("service", list(APPS))
async def test_schemathesis_finds_nothing(
    service: str,
    migrated_database: MigratedDatabase,
    tokens: TokenFactory,
    tmp_path: Path,
    nats_server: NatsServer,
) -> None:
    schema = await loaded(service, migrated_database, tokens, tmp_path, nats_server.url)
    failures, cases = await asyncio.to_thread(run, schema)
    unique = sorted(set(failures))
    print(f"{service}: {cases} test cases, {len(unique)} distinct failures")
    assert cases >= EXAMPLES, "schemathesis ran too few cases"
    assert not unique, "\n\n".join(unique)
