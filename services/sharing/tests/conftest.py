from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
import yaml
from fastapi import FastAPI
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casebridge.common.auth import TokenVerifier
from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.contracts.review import ReviewApplied
from casebridge.common.db import new_id
from casebridge.common.events.envelope import Envelope
from casebridge.common.settings import IssuerConfig
from casebridge.devstack import NatsServer
from casebridge.devstack.demo import DEMO_AGENCIES, DEMO_AREA_CODE, DEMO_AREA_ID, DEMO_AREA_NAME
from casebridge.sharing.credentials import hash_secret
from casebridge.sharing.main import create_app
from casebridge.sharing.models import Agency, Area, OAuthClient
from casebridge.sharing.settings import Settings
from casebridge.testing.harness import rollback_client
from casebridge.testing.plugin import MigratedDatabase
from casebridge.testing.tokens import TokenFactory

COUNCIL, _ = DEMO_AGENCIES["council"]
POLICE, _ = DEMO_AGENCIES["police"]
HOUSING, _ = DEMO_AGENCIES["housing"]
OTHER_AREA = UUID("0192f0a0-0000-7000-8000-00000000a999")
OTHER_AGENCY = UUID("0192f0a0-0000-7000-8000-00000000c999")
SECRET = "s3cret-for-tests-only"
COUNCIL_SCOPES = [
    "complaints:read",
    "complaints:write",
    "reviews:read",
    "shares:read",
    "stats:read",
]
COUNCIL_ROLES = ["call_handler", "case_officer"]
# client_id -> (agency, scopes, grant types, roles)
CLIENTS: dict[str, tuple[UUID, list[str], list[str], list[str]]] = {
    "council-cms": (COUNCIL, COUNCIL_SCOPES, ["client_credentials"], COUNCIL_ROLES),
    "police-rms": (
        POLICE,
        ["complaints:read", "shares:read"],
        ["client_credentials"],
        ["case_officer"],
    ),
    "housing-hms": (HOUSING, ["shares:read"], ["client_credentials"], ["case_officer"]),
    "no-grant": (COUNCIL, ["shares:read"], [], []),
}


ADMIN_ROLE = "partnership_admin"


@dataclass
class Sharing:
    client: httpx.AsyncClient
    sessions: async_sessionmaker[AsyncSession]
    tokens: TokenFactory
    settings: Settings
    app: FastAPI

    def auth(
        self,
        agency: UUID = COUNCIL,
        *,
        area: UUID = DEMO_AREA_ID,
        scopes: Iterable[str] = ("shares:read",),
        **claims: Any,
    ) -> dict[str, str]:
        return self.tokens.headers(
            scopes=scopes,
            agency_id=agency,
            area_id=area,
            audience=self.settings.audience_or_default(),
            **claims,
        )

    def admin(self, agency: UUID = COUNCIL, *, area: UUID = DEMO_AREA_ID) -> dict[str, str]:
        """A partnership administrator of the agency's area (it reads the area's partner
        views too, as the founding client does)."""
        return self.auth(
            agency, area=area, scopes=["shares:admin", "shares:read"], roles=[ADMIN_ROLE]
        )

    async def bearer(self, client_id: str, secret: str, scope: str) -> dict[str, str]:
        """Headers with a token the service's own token endpoint issued."""
        response = await self.token(client_id, secret, scope=scope)
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def token(
        self, client_id: str = "council-cms", secret: str = SECRET, **form: str
    ) -> httpx.Response:
        return await self.client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", **form},
            auth=(client_id, secret),
        )


@pytest.fixture(scope="session")
async def sharing_db(migrated_database: MigratedDatabase) -> str:
    return await migrated_database("sharing")


@pytest.fixture(scope="session")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys") / "signing-key.json"


@pytest.fixture(scope="session")
def secret_hash() -> str:
    return hash_secret(SECRET)


def as_app_role(owner_url: str, role: str = Settings().app_role) -> str:
    """The same database as the service's own role (migrations ran as its owner)."""
    return make_url(owner_url).set(username=role).render_as_string(hide_password=False)


@pytest.fixture
def settings(sharing_db: str, nats_server: NatsServer, key_file: Path, data_dir: Path) -> Settings:
    """The API and worker connect as the application role, as in `make run`."""
    return Settings(
        database_url=as_app_role(sharing_db),
        migration_database_url=sharing_db,
        nats_url=nats_server.url,
        revocation_refresh_seconds=0,  # a revocation is read on the next request
        log_json=False,
        signing_key_file=key_file,
        data_dir=data_dir,
    )


async def register_partners(session: AsyncSession, secret_hash: str) -> None:
    """The demo area's three agencies, an agency of another area, and one client each."""
    for area_id, code in ((DEMO_AREA_ID, DEMO_AREA_CODE), (OTHER_AREA, "OTH")):
        await session.execute(
            insert(Area).values(id=area_id, code=code, name=DEMO_AREA_NAME).on_conflict_do_nothing()
        )
    for kind, (agency_id, name) in DEMO_AGENCIES.items():
        session.add(
            Agency(id=agency_id, area_id=DEMO_AREA_ID, name=name, kind=kind, core_partner=True)
        )
    session.add(Agency(id=OTHER_AGENCY, area_id=OTHER_AREA, name="Other Council", kind="council"))
    await session.flush()
    for client_id, (agency_id, scopes, grants, roles) in CLIENTS.items():
        session.add(
            OAuthClient(
                client_id=client_id,
                secret_hash=secret_hash,
                agency_id=agency_id,
                scopes=scopes,
                grant_types=grants,
                roles=roles,
            )
        )
    await session.flush()


@pytest.fixture
async def sharing(
    settings: Settings, tokens: TokenFactory, secret_hash: str
) -> AsyncIterator[Sharing]:
    """The API over a rolled-back transaction, with the demo partners registered. It trusts
    the test issuer and its own token endpoint (so a client it registers can be used)."""
    apps: list[FastAPI] = []

    def make(settings: Settings) -> FastAPI:
        apps.append(create_app(settings))
        return apps[-1]

    async with rollback_client(make, settings, tokens) as (client, sessions):
        (app,) = apps
        trust_own_issuer(app, tokens, settings)
        async with sessions() as session:
            await register_partners(session, secret_hash)
            await session.commit()
        yield Sharing(client, sessions, tokens, settings, app)


@pytest.fixture
async def protocol_v1(sharing: Sharing) -> Sharing:
    """The demo area with the shipped default protocol published as version 1."""
    response = await sharing.client.put(
        f"/areas/{DEMO_AREA_ID}/protocol",
        content=protocol_yaml(),
        headers=sharing.admin() | {"Content-Type": "application/yaml"},
    )
    assert response.status_code == 201, response.text
    return sharing


def trust_own_issuer(app: FastAPI, tokens: TokenFactory, settings: Settings) -> None:
    own = KeySet([RSAKey.import_key(app.state.signing_key.as_dict(private=False))])
    app.state.token_verifier = TokenVerifier(
        issuers=[
            IssuerConfig(issuer=tokens.issuer, jwks_uri="http://jwks.invalid/"),
            IssuerConfig(issuer=settings.issuer_url, jwks_uri="http://jwks.invalid/own"),
        ],
        audience=settings.audience_or_default(),
        leeway=settings.token_leeway_seconds,
        static_keys={tokens.issuer: tokens.key_set(), settings.issuer_url: own},
    )


def protocol_document(**changes: Any) -> dict[str, Any]:
    """The shipped default protocol, in force for a year from today, with `changes`."""
    text = files("casebridge.common.isp").joinpath("default.yaml").read_text()
    data: dict[str, Any] = yaml.safe_load(text)
    data["review_date"] = (date.today() + timedelta(days=365)).isoformat()
    return data | changes


def protocol_yaml(**changes: Any) -> str:
    return str(yaml.safe_dump(protocol_document(**changes), sort_keys=False))


def complaint_logged(
    *,
    receiving: UUID = COUNCIL,
    consent: str = "not_asked",
    area_id: UUID = DEMO_AREA_ID,
    **overrides: Any,
) -> tuple[Envelope, ComplaintLogged]:
    """A ComplaintLogged event as intake's outbox would publish it."""
    values: dict[str, Any] = {
        "complaint_id": UUID("0192f0a0-0000-7000-8000-0000000f0001"),
        "reference": "DMO-2026-000001-X",
        "area_id": area_id,
        "receiving_agency_id": receiving,
        "person_id": UUID("0192f0a0-0000-7000-8000-0000000e0001"),
        "channel": "phone",
        "nsir_category": "personal",
        "asb_type": "rowdy_neighbours",
        "hate_motivated": True,
        "anonymous": False,
        "occurred_at": datetime(2026, 11, 20, 23, 30, tzinfo=UTC),
        "reported_at": datetime(2026, 11, 21, 9, 0, tzinfo=UTC),
        "postcode": "SW1A 1AA",
        "perpetrator_keys": ["flat-3"],
        "consent_to_share": consent,
    }
    event = ComplaintLogged(**(values | overrides))
    envelope = Envelope(
        source="casebridge/intake",
        type=ComplaintLogged.event_type(),
        subject=ComplaintLogged.subject_for(area_id),
        area_id=area_id,
        data=event.model_dump(mode="json"),
    )
    return envelope, event


def review_applied(
    *,
    received_by: UUID = COUNCIL,
    reference: str = "CR-DMO-2026-000001",
    area_id: UUID = DEMO_AREA_ID,
) -> tuple[Envelope, ReviewApplied]:
    """A ReviewApplied event as review's outbox would publish it."""
    event = ReviewApplied(
        review_id=new_id(),
        reference=reference,
        person_id=UUID("0192f0a0-0000-7000-8000-0000000e0001"),
        applicant_kind="victim",
        received_by_agency_id=received_by,
        complaint_ids=[],
        applied_at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
    )
    envelope = Envelope(
        source="casebridge/review",
        type=ReviewApplied.event_type(),
        subject=ReviewApplied.subject_for(area_id),
        area_id=area_id,
        data=event.model_dump(mode="json"),
    )
    return envelope, event
