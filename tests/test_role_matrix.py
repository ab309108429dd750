"""The authorization matrix with roles (issue 15, API5): every operation of every service,
tried with the right role of the right agency, the right role of another agency, a wrong role
of the right agency and a system client without the role, against the real apps and
databases with real signed tokens.

The operations are the apps' routes: a route without an entry in OPERATIONS fails
`test_every_operation_has_a_matrix_entry`. "Let through" means the role gate and the
agency's standing let the call reach the operation (its answer may still be 404 for an id
nobody has, or 409/422 for the state or the body); "refused" is 403.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import make_url

from casebridge.common.auth import ROLES, AnyRole
from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.db import new_id
from casebridge.common.events.connection import NatsLink
from casebridge.common.events.consumer import ConsumerRunner
from casebridge.common.events.envelope import Envelope
from casebridge.common.isp import parse
from casebridge.devstack import NatsServer
from casebridge.devstack.demo import DEMO_AGENCIES, DEMO_AREA_ID
from casebridge.devstack.seeds.review import demo_document
from casebridge.intake.main import create_app as intake_app
from casebridge.intake.settings import Settings as IntakeSettings
from casebridge.review.areas import ensure_config
from casebridge.review.handlers import intake_consumer
from casebridge.review.main import create_app as review_app
from casebridge.review.models import CaseInvitation, PartnerAgency, ProtocolVersion
from casebridge.review.settings import Settings as ReviewSettings
from casebridge.sharing.main import create_app as sharing_app
from casebridge.sharing.settings import Settings as SharingSettings
from casebridge.stats.main import create_app as stats_app
from casebridge.stats.settings import Settings as StatsSettings
from casebridge.testing.harness import rollback_client
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.routes import api_routes, declared_roles, declared_scopes
from casebridge.testing.tokens import TokenFactory
from tests.conftest import seed_intake_area
from tests.test_routes import APPS

COUNCIL, _ = DEMO_AGENCIES["council"]  # the demo area's SPOC agency, on its panel
POLICE, _ = DEMO_AGENCIES["police"]  # on the panel, not the SPOC
# An agency of the area invited to the review (so it sees it), not on the case review panel.
HEALTH = UUID("0192f0a0-0000-7000-8000-00000000e001")
NOW = datetime.now(UTC)


@dataclass(frozen=True)
class Op:
    """One operation's row: the role that is right for it, what another agency holding that
    role gets, and (where the matrix sets the state up for it) the right caller's status."""

    role: str | None  # None: AnyRole, every role (and none) is let through
    other: str = "let through"  # or the 403 error code another agency gets
    other_agency: UUID = POLICE
    status: int | None = None
    body: Any = None
    content: str | None = None


SPOC = Op("spoc", other="not_the_spoc")
ADMIN = Op("partnership_admin")
ANY = Op(None)
MEETING_PAST = {"meeting_at": (NOW - timedelta(hours=1)).isoformat()}

OPERATIONS: dict[str, dict[str, Op]] = {
    "intake": {
        "POST /complaints": Op("call_handler", body={}),
        "GET /complaints": Op("case_officer", status=200),
        "GET /complaints/by-reference/{reference:path}": Op("call_handler"),
        "GET /complaints/{complaint_id}": Op("spoc"),
        "PATCH /complaints/{complaint_id}": Op("case_officer", body={}),
        "POST /complaints/{complaint_id}/consent": Op("case_officer", body={}),
        "POST /complaints/{complaint_id}/sharing-override": Op("case_officer", body={}),
        "POST /complaints/{complaint_id}/link": Op("call_handler", body={}),
        "POST /complaints/{complaint_id}/unlink": Op("call_handler"),
        "GET /complaints/{complaint_id}/duplicates": Op("case_officer"),
        "POST /complaints/{complaint_id}/references": Op("call_handler", body={}),
        "POST /complaints/{complaint_id}/risk-assessments": Op("case_officer", body={}),
        "GET /complaints/{complaint_id}/risk-assessments": Op("panel_member"),
        "GET /people": Op("call_handler"),
        "GET /people/{person_id}": Op("case_officer"),
        "GET /people/{person_id}/log": Op("spoc"),
        "POST /people/{person_id}/vulnerability": Op("case_officer", body={}),
        "POST /people/{person_id}/merge": Op("case_officer", body={}),
        "GET /risk/question-set": Op("call_handler"),
        "GET /complaints/{complaint_id}/timeline": Op("case_officer"),
        "GET /people/{person_id}/timeline": Op("case_officer"),
        "GET /audit/access": Op("dpo", status=200),
    },
    "sharing": {
        "GET /agencies": Op(None, status=200),
        "GET /deliveries": Op("case_officer", status=200),
        "GET /disclosures": Op("dpo", status=200),
        "GET /audit/disclosures": Op("dpo", status=200),
        "GET /areas": Op("partnership_admin", status=200),
        "POST /areas": Op("partnership_admin", body={}),
        "GET /areas/{area_id}": ADMIN,
        "GET /areas/{area_id}/agencies": ADMIN,
        "POST /areas/{area_id}/agencies": Op("partnership_admin", body={}),
        "PATCH /agencies/{agency_id}": Op("partnership_admin", body={}),
        "GET /agencies/{agency_id}/clients": ADMIN,
        "POST /agencies/{agency_id}/clients": Op("partnership_admin", body={}),
        "POST /clients/{client_id}/secret": ADMIN,
        "DELETE /clients/{client_id}": ADMIN,
        "GET /agencies/{agency_id}/webhooks": ADMIN,
        "POST /agencies/{agency_id}/webhooks": Op("partnership_admin", body={}),
        "PATCH /webhooks/{webhook_id}": Op("partnership_admin", body={}),
        "GET /agencies/{agency_id}/nats-users": ADMIN,
        "POST /agencies/{agency_id}/nats-users": Op("partnership_admin", body={}),
        "DELETE /nats-users/{user_id}": ADMIN,
        "PUT /areas/{area_id}/protocol": Op("partnership_admin", body={}),
        "GET /areas/{area_id}/protocol": ANY,
        "GET /areas/{area_id}/protocol/versions": ANY,
        "GET /areas/{area_id}/protocol/versions/{version}": ANY,
        "GET /cases/{reference}/invitations": Op("spoc"),
        "POST /cases/{reference}/invitations": Op("partnership_admin", body={}),
        "DELETE /cases/{reference}/invitations/{agency_id}": Op("spoc"),
        "POST /cases/{reference}/updates": Op("case_officer", body={}),
        "GET /feed": Op("case_officer", status=200),
        "GET /webhook-dead-letters": Op("case_officer", status=200),
        "GET /webhook-messages/{message_id}/attempts": Op("case_officer", status=404),
        "POST /webhook-dead-letters/{message_id}/redrive": Op("case_officer", status=404),
    },
    "review": {
        # In this order: the review is acknowledged first, then voted on.
        "POST /reviews/{reference}/acknowledge": Op("spoc", other="not_the_spoc", status=200),
        "POST /reviews/{reference}/votes": Op(
            "panel_member",
            other="not_on_panel",
            other_agency=HEALTH,
            status=200,
            body={"met": True, "reason": "persistent"},
        ),
        "PUT /config": Op("partnership_admin", status=201, content=demo_document()),
        "GET /config": Op(None, status=200),
        "GET /reviews": Op("panel_member", status=200),
        "POST /reviews": Op("case_officer", body={}),
        "GET /reviews/{reference}": Op("spoc", status=200),
        "GET /reviews/{reference}/status": Op("case_officer", status=200),
        "GET /reviews/{reference}/counting": Op("panel_member", status=200),
        "GET /reviews/{reference}/history": Op("spoc", status=200),
        "GET /reviews/{reference}/deadlines": Op("spoc", status=200),
        "GET /reviews/{reference}/letters": Op("case_officer", status=200),
        "GET /reviews/{reference}/letters/{letter_id}": Op("spoc", status=404),
        "GET /reviews/{reference}/letters/{letter_id}/pdf": Op("spoc", status=404),
        "POST /reviews/{reference}/behaviour": Op(
            "spoc", other="not_the_spoc", body={"complaint_id": str(new_id())}
        ),
        "POST /reviews/{reference}/threshold": Op(
            "spoc", other="not_the_spoc", status=409, body={"met": True, "reason": "no quorum"}
        ),
        "POST /reviews/{reference}/meeting": Op("spoc", other="not_the_spoc", body=MEETING_PAST),
        "POST /reviews/{reference}/meeting/held": Op(
            "spoc", other="not_the_spoc", body={"minutes": "Met", "information_supplied": {}}
        ),
        "POST /reviews/{reference}/action-plan": Op(
            "spoc",
            other="not_the_spoc",
            body={
                "lead_agency_id": str(COUNCIL),
                "recommendations": ["ABC"],
                "actions": [
                    {"agency_id": str(COUNCIL), "description": "ABC", "due_on": "2027-01-08"}
                ],
                "victim_consulted": True,
            },
        ),
        "POST /reviews/{reference}/outcome": Op(
            "spoc", other="not_the_spoc", status=409, body={"outcome": "A plan was agreed."}
        ),
        "POST /reviews/{reference}/accept": Op("spoc", other="not_the_spoc", status=409),
        "POST /reviews/{reference}/escalate": Op(
            "spoc", other="not_the_spoc", status=409, body={"reason": "Not enough was done"}
        ),
        "POST /reviews/{reference}/escalation/decision": Op(
            "spoc", other="not_the_spoc", status=409, body={"upheld": False, "reasons": "Stands"}
        ),
        "POST /reviews/{reference}/close": Op(
            "spoc", other="not_the_spoc", body={"reason": "Withdrawn"}
        ),
        "POST /reviews/{reference}/access-code": Op("spoc", other="not_the_spoc", status=201),
        "GET /audit/access": Op("dpo", status=200),
        "GET /triggers": Op("case_officer", status=200),
        "GET /triggers/{trigger_id}": Op("spoc", status=404),
        "POST /triggers/{trigger_id}/explained": Op("case_officer", status=404),
    },
    "stats": {
        "GET /stats/complaints": Op("analyst", status=200),
        "GET /stats/case-reviews": Op("analyst", status=200),
        "GET /stats/monthly/{measure}": Op("analyst"),
        "GET /stats/data-return": Op("analyst"),
    },
}


def operations(service: str) -> dict[str, APIRoute]:
    create, public = APPS[service]
    return {f"{m} {p}": r for p, m, r in api_routes(create()) if p not in public}


@pytest.mark.parametrize("service", list(APPS))
def test_every_operation_has_a_matrix_entry(service: str) -> None:
    """A new route without a row here fails: its roles must be decided and tried."""
    routes = operations(service)
    assert set(OPERATIONS[service]) == set(routes)
    for name, op in OPERATIONS[service].items():
        declared = declared_roles(routes[name])
        if op.role is None:
            assert isinstance(declared, AnyRole), name
        else:
            assert isinstance(declared, tuple), name
            assert op.role in declared, name


# ---- the services, each over a rolled-back transaction -------------------------------------
@dataclass
class Service:
    name: str
    client: httpx.AsyncClient
    settings: Any
    tokens: TokenFactory
    paths: dict[str, str] = field(default_factory=dict)

    def headers(self, route: APIRoute, agency: UUID, roles: list[str]) -> dict[str, str]:
        return self.tokens.headers(
            scopes=sorted(set(declared_scopes(route) or [])),
            agency_id=agency,
            area_id=DEMO_AREA_ID,
            audience=self.settings.audience_or_default(),
            roles=roles,
        )

    def url(self, path: str) -> str:
        known = {"area_id": str(DEMO_AREA_ID), "version": "1", "reference:path": "DMO-2026-1"}
        for name, value in (known | self.paths).items():
            path = path.replace("{" + name + "}", value)
        while "{" in path:  # any other id: one nobody has
            start, end = path.index("{"), path.index("}")
            path = path[:start] + str(new_id()) + path[end + 1 :]
        return path

    async def call(self, name: str, op: Op, agency: UUID, roles: list[str]) -> httpx.Response:
        method, path = name.split(" ", 1)
        route = operations(self.name)[name]
        headers = self.headers(route, agency, roles)
        if op.content is not None:
            headers["Content-Type"] = "application/yaml"
            return await self.client.request(
                method, self.url(path), content=op.content, headers=headers
            )
        body = op.body if method in ("POST", "PUT", "PATCH") else None
        return await self.client.request(method, self.url(path), json=body, headers=headers)


@asynccontextmanager
async def service(
    name: str, create: Callable[..., FastAPI], settings: Any, tokens: TokenFactory
) -> AsyncIterator[Service]:
    async with rollback_client(create, settings, tokens) as (client, sessions):
        under_test = Service(name, client, settings, tokens)
        if name == "sharing":
            under_test.paths["reference"] = "DMO-2026-000001-7"  # a case nobody indexed
        if name == "review":
            await prepare_review(under_test, sessions)
        yield under_test


async def prepare_review(review: Service, sessions: Any) -> None:
    """The demo procedure and registry, and one application received by the council."""
    text = files("casebridge.common.isp").joinpath("default.yaml").read_text()
    agencies = [
        {"id": a, "area_id": DEMO_AREA_ID, "name": n, "kind": k, "core_partner": True}
        for k, (a, n) in DEMO_AGENCIES.items()
    ] + [
        {"id": HEALTH, "area_id": DEMO_AREA_ID, "name": "ICB", "kind": "health",
         "core_partner": False}
    ]  # fmt: skip
    async with sessions() as session:
        await ensure_config(session, area_id=DEMO_AREA_ID, document=demo_document(), author="t")
        await session.execute(insert(PartnerAgency).values(agencies))
        await session.execute(
            insert(ProtocolVersion).values(
                area_id=DEMO_AREA_ID, version=1, published_at=NOW,
                document=parse(text).model_dump(mode="json"),
            )
        )  # fmt: skip
        await session.commit()
    person = new_id()
    event = ComplaintLogged(
        complaint_id=new_id(), reference="DMO-2025-000001-0", area_id=DEMO_AREA_ID,
        receiving_agency_id=COUNCIL, person_id=person, channel="phone",
        nsir_category="personal", asb_type="noise", occurred_at=NOW - timedelta(days=401),
        reported_at=NOW - timedelta(days=400), postcode="SW1A 1AA",
    )  # fmt: skip
    consumer = intake_consumer()
    runner = ConsumerRunner(consumer, NatsLink("nats://unused", name="matrix"), sessions)
    envelope = Envelope(
        id=new_id(), source="casebridge/intake", type=event.event_type(),
        subject=event.subject_for(DEMO_AREA_ID), area_id=DEMO_AREA_ID,
        data=event.model_dump(mode="json"),
    )  # fmt: skip
    await runner._apply(consumer.handlers[event.event_type()], envelope, event)
    applied = await review.client.post(
        "/reviews",
        json={"applicant_kind": "victim", "applicant_name": "Alex Example",
              "applicant_contact": "07700 900123", "summary": "Noise since June.",
              "person_id": str(person)},
        headers=review.tokens.headers(
            scopes=["reviews:write"], agency_id=COUNCIL, area_id=DEMO_AREA_ID,
            audience=review.settings.audience_or_default(), roles=["case_officer"],
        ),
    )  # fmt: skip
    assert applied.status_code == 201, applied.text
    review.paths["reference"] = reference = applied.json()["reference"]
    async with sessions() as session:
        session.add(
            CaseInvitation(
                case_reference=reference, agency_id=HEALTH, area_id=DEMO_AREA_ID,
                invited=True, changed_at=NOW,
            )
        )  # fmt: skip
        await session.commit()


@pytest.fixture
async def services(
    migrated_database: MigratedDatabase,
    nats_server: NatsServer,
    tokens: TokenFactory,
    tmp_path: Path,
) -> dict[str, Any]:
    intake_db = await migrated_database("intake")
    await seed_intake_area(intake_db)
    sharing_db = await migrated_database("sharing")
    common = {"nats_url": nats_server.url, "log_json": False}
    app_role = make_url(sharing_db).set(username=SharingSettings().app_role)
    return {
        "intake": IntakeSettings(database_url=intake_db, **common),
        "sharing": SharingSettings(
            database_url=app_role.render_as_string(hide_password=False),
            migration_database_url=sharing_db,
            signing_key_file=tmp_path / "key.json",
            data_dir=tmp_path,
            revocation_refresh_seconds=0,
            **common,
        ),
        "review": ReviewSettings(
            database_url=await migrated_database("review"),
            protocol_cache_seconds=0,
            revocation_refresh_seconds=0,
            **common,
        ),
        "stats": StatsSettings(database_url=await migrated_database("stats"), **common),
    }


CREATE: dict[str, Callable[..., FastAPI]] = {
    "intake": intake_app,
    "sharing": sharing_app,
    "review": review_app,
    "stats": stats_app,
}


def wrong_role(declared: tuple[str, ...] | AnyRole | None) -> str:
    held = () if isinstance(declared, AnyRole) or declared is None else declared
    return next(r for r in ROLES if r not in held)


def refused(response: httpx.Response, code: str = "forbidden") -> bool:
    return response.status_code == 403 and response.json().get("error") == code


def let_through(response: httpx.Response, status: int | None = None) -> bool:
    if status is not None:
        return response.status_code == status
    return response.status_code not in (401, 403) and response.status_code < 500


@pytest.mark.parametrize("name", list(APPS))
async def test_role_matrix(name: str, services: dict[str, Any], tokens: TokenFactory) -> None:
    """Police cannot change the area's procedure; only the SPOC agency acknowledges (and
    takes every other SPOC step); only panel agencies vote; a DPO audits; an analyst counts."""
    wrong: list[str] = []
    async with service(name, CREATE[name], services[name], tokens) as svc:
        routes = operations(name)
        for op_name, op in OPERATIONS[name].items():
            declared = declared_roles(routes[op_name])
            gate = "let through" if op.role is None else "refused"
            role = op.role or "analyst"
            right = await svc.call(op_name, op, COUNCIL, [role])
            other = await svc.call(op_name, op, op.other_agency, [role])
            wrong_one = await svc.call(op_name, op, COUNCIL, [wrong_role(declared)])
            none = await svc.call(op_name, op, COUNCIL, [])
            found = {
                "right role, right agency": let_through(right, op.status),
                "right role, other agency": (
                    let_through(other) if op.other == "let through" else refused(other, op.other)
                ),
                "wrong role, right agency": (
                    let_through(wrong_one) if gate == "let through" else refused(wrong_one)
                ),
                "client without the role": (
                    let_through(none) if gate == "let through" else refused(none)
                ),
            }
            statuses = (right, other, wrong_one, none)
            for (column, ok), response in zip(found.items(), statuses, strict=True):
                if not ok:
                    wrong.append(f"{op_name} [{column}]: {response.status_code} {response.text}")
    assert not wrong, "\n".join(wrong)
