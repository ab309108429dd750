"""The partner registry's administration (scope shares:admin, role partnership_admin): areas,
agencies, their OAuth clients, webhook endpoints and NATS users. An administrator works on
its own area; another area's agencies answer 404."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, cast
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Request, Response

from casebridge.common.auth import Principal, Scoped
from casebridge.common.db import DbSession
from casebridge.sharing import clients, endpoints, registry
from casebridge.sharing.models import Agency, Area, NatsUser, OAuthClient, WebhookEndpoint
from casebridge.sharing.registry_schemas import (
    AgencyCreate,
    AgencyRead,
    AgencyUpdate,
    AreaCreate,
    AreaRead,
    ClientCreate,
    ClientRead,
    ClientSecret,
    FoundedArea,
    NatsUserCreate,
    NatsUserCreated,
    NatsUserRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)
from casebridge.sharing.settings import Settings

router = APIRouter(tags=["registry"])

CanAdminister = Annotated[Principal, Scoped("shares:admin", role="partnership_admin")]
ClientId = Annotated[
    str, Path(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$", description="client id")
]
Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: {"description": "not found in the caller's area"}}
REFUSED: Responses = {422: {"description": "refused: the detail lists each field and the reason"}}


async def _administered_agency(agency_id: UUID, session: DbSession, who: CanAdminister) -> Agency:
    return await registry.get_administered_agency(session, who, agency_id)


AdministeredAgency = Annotated[Agency, Depends(_administered_agency)]


def _allow_loopback(request: Request) -> bool:
    return cast(Settings, request.app.state.settings).webhook_allow_loopback


AllowLoopback = Annotated[bool, Depends(_allow_loopback)]


def _allowed_hosts(request: Request) -> list[str]:
    return cast(Settings, request.app.state.settings).webhook_allowed_hosts


AllowedHosts = Annotated[list[str], Depends(_allowed_hosts)]


def _with_secret(client: OAuthClient, secret: str) -> ClientSecret:
    return ClientSecret(
        client_id=client.client_id,
        client_secret=secret,
        agency_id=client.agency_id,
        scopes=list(client.scopes),
        roles=list(client.roles),
    )


# ---- areas ------------------------------------------------------------------------------
@router.get("/areas", response_model=list[AreaRead])
async def list_areas(session: DbSession, who: CanAdminister) -> Sequence[Area]:
    """Every area's code and name."""
    return await registry.list_areas(session)


@router.post(
    "/areas",
    status_code=201,
    response_model=FoundedArea,
    responses={409: {"description": "the code is taken"}},
)
async def found_area(data: AreaCreate, session: DbSession, who: CanAdminister) -> FoundedArea:
    """Found an area with its first agency; the response holds that agency's administrator
    client and its secret (shown once), which administers the new area from then on."""
    founded = await registry.found_area(session, principal=who, data=data)
    return FoundedArea(
        area=AreaRead.model_validate(founded.area),
        agency=AgencyRead.model_validate(founded.agency),
        client=_with_secret(founded.client, founded.secret),
    )


@router.get("/areas/{area_id}", response_model=AreaRead, responses=NOT_FOUND)
async def read_area(area_id: UUID, session: DbSession, who: CanAdminister) -> Area:
    return await registry.get_area(session, area_id)


@router.get("/areas/{area_id}/agencies", response_model=list[AgencyRead], responses=NOT_FOUND)
async def list_area_agencies(
    area_id: UUID, session: DbSession, who: CanAdminister
) -> Sequence[Agency]:
    """The agencies registered in the caller's area, active or not."""
    return await registry.list_agencies_of(session, principal=who, area_id=area_id)


@router.post(
    "/areas/{area_id}/agencies", status_code=201, response_model=AgencyRead, responses=NOT_FOUND
)
async def register_agency(
    area_id: UUID, data: AgencyCreate, session: DbSession, who: CanAdminister
) -> Agency:
    """Register an agency in the caller's area (announced to every service)."""
    return await registry.add_agency(session, principal=who, area_id=area_id, data=data)


@router.patch(
    "/agencies/{agency_id}",
    response_model=AgencyRead,
    responses={**NOT_FOUND, 409: {"description": "an administrator's own agency stays active"}},
)
async def change_agency(
    agency_id: UUID, data: AgencyUpdate, session: DbSession, who: CanAdminister
) -> Agency:
    """Change an agency's name, core-partner status or activity; each change bumps its
    revision and is announced."""
    return await registry.change_agency(session, principal=who, agency_id=agency_id, data=data)


# ---- OAuth clients ----------------------------------------------------------------------
@router.get("/agencies/{agency_id}/clients", response_model=list[ClientRead], responses=NOT_FOUND)
async def list_clients(
    agency: AdministeredAgency, session: DbSession, who: CanAdminister
) -> Sequence[OAuthClient]:
    return await clients.list_clients(session, principal=who, agency_id=agency.id)


@router.post(
    "/agencies/{agency_id}/clients",
    status_code=201,
    response_model=ClientSecret,
    responses=NOT_FOUND,
)
async def create_client(
    agency: AdministeredAgency, data: ClientCreate, session: DbSession
) -> ClientSecret:
    """A client for the agency's system; the secret is shown in this response only."""
    client, secret = await clients.create_client(
        session, agency=agency, scopes=data.scopes, roles=data.roles
    )
    return _with_secret(client, secret)


@router.post(
    "/clients/{client_id}/secret",
    response_model=ClientSecret,
    responses={**NOT_FOUND, 409: {"description": "the client is revoked"}},
)
async def rotate_secret(client_id: ClientId, session: DbSession, who: CanAdminister) -> Any:
    """A new secret (shown once); the old one stops working at once."""
    client, secret = await clients.rotate_secret(session, principal=who, client_id=client_id)
    return _with_secret(client, secret)


@router.delete("/clients/{client_id}", status_code=204, responses=NOT_FOUND)
async def revoke_client(client_id: ClientId, session: DbSession, who: CanAdminister) -> Response:
    """Revoke a client: the token endpoint refuses it at once, and its tokens stop working
    everywhere within the time the README gives."""
    await clients.revoke_client(session, principal=who, client_id=client_id)
    return Response(status_code=204)


# ---- webhook endpoints and NATS users ---------------------------------------------------
@router.get("/agencies/{agency_id}/webhooks", response_model=list[WebhookRead], responses=NOT_FOUND)
async def list_webhooks(agency: AdministeredAgency, session: DbSession) -> Sequence[Any]:
    return await endpoints.list_webhooks(session, agency=agency)


@router.post(
    "/agencies/{agency_id}/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    responses={**NOT_FOUND, **REFUSED},
)
async def create_webhook(
    agency: AdministeredAgency,
    data: WebhookCreate,
    session: DbSession,
    loopback: AllowLoopback,
    hosts: AllowedHosts,
) -> WebhookEndpoint:
    """Register an endpoint; its signing secret is shown in this response only."""
    return await endpoints.create_webhook(
        session, agency=agency, data=data, allow_loopback=loopback, allowed_hosts=hosts
    )


@router.patch(
    "/webhooks/{webhook_id}", response_model=WebhookRead, responses={**NOT_FOUND, **REFUSED}
)
async def change_webhook(
    webhook_id: UUID,
    data: WebhookUpdate,
    session: DbSession,
    who: CanAdminister,
    loopback: AllowLoopback,
    hosts: AllowedHosts,
) -> WebhookEndpoint:
    return await endpoints.change_webhook(
        session,
        principal=who,
        webhook_id=webhook_id,
        data=data,
        allow_loopback=loopback,
        allowed_hosts=hosts,
    )


@router.get(
    "/agencies/{agency_id}/nats-users", response_model=list[NatsUserRead], responses=NOT_FOUND
)
async def list_nats_users(agency: AdministeredAgency, session: DbSession) -> Sequence[NatsUser]:
    return await endpoints.list_nats_users(session, agency=agency)


@router.post(
    "/agencies/{agency_id}/nats-users",
    status_code=201,
    response_model=NatsUserCreated,
    responses={**NOT_FOUND, 409: {"description": "the username is taken"}},
)
async def create_nats_user(
    agency: AdministeredAgency, data: NatsUserCreate, session: DbSession
) -> NatsUserCreated:
    """NATS credentials for the agency; the password is shown in this response only."""
    user, password = await endpoints.create_nats_user(
        session, agency=agency, username=data.username
    )
    return NatsUserCreated.model_validate(
        {**NatsUserRead.model_validate(user).model_dump(), "password": password}
    )


@router.delete("/nats-users/{user_id}", status_code=204, responses=NOT_FOUND)
async def revoke_nats_user(user_id: UUID, session: DbSession, who: CanAdminister) -> Response:
    await endpoints.revoke_nats_user(session, principal=who, user_id=user_id)
    return Response(status_code=204)
