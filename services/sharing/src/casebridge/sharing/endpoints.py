"""Where partners receive deliveries, as registry records: webhook endpoints (https on a
public address, with a signing secret shown once) and NATS users (a password shown once,
kept as the bcrypt hash nats-server's configuration takes). The delivery channels use them.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import logging
import re
import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit
from uuid import UUID

import bcrypt
from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.auth import Principal
from casebridge.common.db import new_id, utcnow
from casebridge.common.errors import Conflict, NotFound
from casebridge.sharing.errors import Unprocessable
from casebridge.sharing.models import Agency, NatsUser, WebhookEndpoint
from casebridge.sharing.registry_schemas import WebhookCreate, WebhookUpdate

log = logging.getLogger(__name__)

# nats-server's own `nats server passwd` makes $2a$ hashes of cost 11.
NATS_BCRYPT_COST = 11
# Names that never reach the public internet (RFC 6761, RFC 8375, common practice).
PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".lan", ".intranet")
_TLD = re.compile(r"^[a-z][a-z0-9-]*$")


class WebhookNotFound(NotFound):
    code = "webhook_not_found"


class NatsUserNotFound(NotFound):
    code = "nats_user_not_found"


class UsernameTaken(Conflict):
    code = "username_taken"


def webhook_url_problem(url: str, *, allow_loopback: bool) -> str | None:
    """Why a webhook URL is refused, or None. Literal addresses and names are checked here;
    the sender checks the addresses a name resolves to when it connects (DNS may change)."""
    if not url.isascii() or not url.isprintable() or " " in url:
        return "must be printable ASCII (percent-encode anything else)"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number in range
    except ValueError:
        return "not a URL"
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme not in ("https", "http") or not host or port == 0:
        return "must be an https URL with a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials"
    if parts.fragment:
        return "must not have a fragment"
    loopback = _is_loopback(host)
    if loopback and allow_loopback:
        return None  # tests and `make run` receive on loopback, over http or https
    if parts.scheme != "https":
        return "must be https"
    if loopback:
        return "loopback addresses are refused"
    return _host_problem(host)


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    address = _address(host)
    return address is not None and address.is_loopback


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _host_problem(host: str) -> str | None:
    address = _address(host)
    if address is not None:
        if not address.is_global or address.is_multicast:
            return "private, link-local and reserved addresses are refused"
        return None
    if "." not in host or host.endswith(PRIVATE_SUFFIXES):
        return "must be a public host name"
    if not _TLD.match(host.rsplit(".", 1)[1]):
        return "must be a public host name"  # e.g. 0x7f.0.0.1, an address in disguise
    return None


def host_allowed(url: str, allowed_hosts: Sequence[str]) -> bool:
    """On the deployment's allow-list (`SHARING_WEBHOOK_ALLOWED_HOSTS`): a host named there,
    or under a `.suffix` named there. An empty list allows any public host."""
    if not allowed_hosts:
        return True
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    return any(
        host.endswith(entry.lower()) if entry.startswith(".") else host == entry.lower()
        for entry in allowed_hosts
    )


def _checked_url(url: str, allow_loopback: bool, allowed_hosts: Sequence[str] = ()) -> str:
    problem = webhook_url_problem(url, allow_loopback=allow_loopback)
    if problem is None and not host_allowed(url, allowed_hosts):
        problem = "the host is not on the webhook allow-list"
    if problem is not None:
        raise Unprocessable("url", problem)
    return url


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


# ---- webhook endpoints ------------------------------------------------------------------
def administered_webhooks(principal: Principal) -> Select[WebhookEndpoint]:
    return (
        select(WebhookEndpoint)
        .join(Agency, Agency.id == WebhookEndpoint.agency_id)
        .where(Agency.area_id == principal.area_id)
    )


async def create_webhook(
    session: AsyncSession,
    *,
    agency: Agency,
    data: WebhookCreate,
    allow_loopback: bool,
    allowed_hosts: Sequence[str] = (),
) -> WebhookEndpoint:
    """Register an endpoint; its signing secret is on the returned row only this once."""
    endpoint = WebhookEndpoint(
        id=new_id(),
        agency_id=agency.id,
        url=_checked_url(data.url, allow_loopback, allowed_hosts),
        description=data.description,
        active=data.active,
        signing_secret=new_signing_secret(),
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    session.add(endpoint)
    await session.flush()
    return endpoint


async def list_webhooks(session: AsyncSession, *, agency: Agency) -> Sequence[WebhookEndpoint]:
    statement = select(WebhookEndpoint).where(WebhookEndpoint.agency_id == agency.id)
    return (await session.scalars(statement.order_by(WebhookEndpoint.created_at))).all()


async def change_webhook(
    session: AsyncSession,
    *,
    principal: Principal,
    webhook_id: UUID,
    data: WebhookUpdate,
    allow_loopback: bool,
    allowed_hosts: Sequence[str] = (),
) -> WebhookEndpoint:
    statement = administered_webhooks(principal).where(WebhookEndpoint.id == webhook_id)
    endpoint = await session.scalar(statement.with_for_update(of=WebhookEndpoint))
    if endpoint is None:
        raise WebhookNotFound(f"no webhook endpoint {webhook_id} in your area")
    if data.url is not None:
        endpoint.url = _checked_url(data.url, allow_loopback, allowed_hosts)
    if data.description is not None:
        endpoint.description = data.description
    if data.active is not None:
        endpoint.active = data.active
    endpoint.updated_at = utcnow()
    await session.flush()
    return endpoint


# ---- NATS users -------------------------------------------------------------------------
def administered_nats_users(principal: Principal) -> Select[NatsUser]:
    return (
        select(NatsUser)
        .join(Agency, Agency.id == NatsUser.agency_id)
        .where(Agency.area_id == principal.area_id)
    )


def nats_password_hash(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(NATS_BCRYPT_COST, prefix=b"2a")).decode()


async def create_nats_user(
    session: AsyncSession, *, agency: Agency, username: str
) -> tuple[NatsUser, str]:
    """A NATS user for an agency; the password is returned here and never again."""
    password = secrets.token_urlsafe(24)
    hashed = await asyncio.to_thread(nats_password_hash, password)
    user = await session.scalar(
        insert(NatsUser)
        .values(id=new_id(), agency_id=agency.id, username=username, password_hash=hashed)
        .on_conflict_do_nothing(index_elements=[NatsUser.username])
        .returning(NatsUser)
    )
    if user is None:
        raise UsernameTaken(f"the NATS username {username} is taken")
    return user, password


async def list_nats_users(session: AsyncSession, *, agency: Agency) -> Sequence[NatsUser]:
    statement = select(NatsUser).where(NatsUser.agency_id == agency.id)
    return (await session.scalars(statement.order_by(NatsUser.created_at))).all()


async def revoke_nats_user(session: AsyncSession, *, principal: Principal, user_id: UUID) -> None:
    statement = administered_nats_users(principal).where(NatsUser.id == user_id)
    user = await session.scalar(statement.with_for_update(of=NatsUser))
    if user is None:
        raise NatsUserNotFound(f"no NATS user {user_id} in your area")
    if user.active:
        user.active = False
        user.revoked_at = utcnow()
        await session.flush()
        log.warning("NATS user %s revoked by %s", user.username, principal.client_id)
