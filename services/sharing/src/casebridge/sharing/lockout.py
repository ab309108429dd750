"""The token endpoint's brute-force lockout: failed secrets are counted per (client id,
source address) in the database every replica shares. From the threshold-th failure on,
that source waits before it may try that client id again, twice as long after each
further failure, up to a cap. Another source is never refused for them: client ids are
guessable (`demo-police`), and a stranger's guesses must not lock a partner out."""

from __future__ import annotations

import ipaddress
import logging
from datetime import timedelta
from typing import Any

from prometheus_client import Counter
from sqlalchemy import Interval, case, delete, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from casebridge.sharing.models import ClientAuthFailure
from casebridge.sharing.settings import Settings

log = logging.getLogger(__name__)

LOCKOUTS = Counter(
    "casebridge_token_lockouts_total",
    "A (client id, source address) locked out of the token endpoint after failed secrets",
)
REFUSALS = Counter(
    "casebridge_token_locked_refusals_total",
    "Token requests refused because their (client id, source address) is locked out",
)


def source_address(request: Request, settings: Settings) -> str:
    """Who is asking: the configured trusted proxy header's last address (the one the
    proxy itself appended) when set, else the connection's peer. An IPv6 address counts
    as its /64 network: whoever holds one address of it holds them all."""
    peer = request.client.host if request.client else "unknown"
    header = settings.trusted_proxy_header
    if header:
        forwarded = request.headers.get(header, "").split(",")[-1].strip()
        peer = forwarded or peer
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return peer[:64]
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _seconds(value: float) -> Any:
    return literal(timedelta(seconds=value), Interval())


async def remaining(session: AsyncSession, client_id: str, source: str) -> int:
    """Seconds until this source may try this client id again (0: now)."""
    row = ClientAuthFailure
    seconds = await session.scalar(
        select(func.ceil(func.extract("epoch", row.locked_until - func.now()))).where(
            row.client_id == client_id, row.source == source, row.locked_until > func.now()
        )
    )
    wait = max(int(seconds or 0), 0)
    if wait:
        REFUSALS.inc()
    return wait


async def record_failure(
    session: AsyncSession, client_id: str, source: str, *, settings: Settings
) -> int:
    """Count a failed secret from this source (one upsert: replicas race safely; a count
    idle for the window starts again); from the threshold on, lock the source out for
    base * 2^(failures - threshold) seconds, at most the cap."""
    row = ClientAuthFailure
    stale = row.last_failed_at < func.now() - _seconds(settings.lockout_window_seconds)
    counted = (
        insert(row)
        .values(client_id=client_id, source=source, failures=1, last_failed_at=func.now())
        .on_conflict_do_update(
            index_elements=[row.client_id, row.source],
            set_={
                "failures": case((stale, 1), else_=row.failures + 1),
                "last_failed_at": func.now(),
            },
        )
        .returning(row.failures)
    )
    failures = int((await session.execute(counted)).scalar_one())
    if failures >= settings.lockout_threshold:
        wait = min(
            settings.lockout_base_seconds * 2 ** (failures - settings.lockout_threshold),
            settings.lockout_max_seconds,
        )
        until = await session.scalar(
            update(row)
            .where(row.client_id == client_id, row.source == source)
            .values(locked_until=func.now() + _seconds(wait))
            .returning(row.locked_until)
        )
        LOCKOUTS.inc()
        log.warning(
            "token endpoint: client %s locked for source %s until %s after %d failed secrets",
            client_id, source, until.isoformat() if until else "?", failures,
        )  # fmt: skip
    return failures


async def clear(session: AsyncSession, client_id: str, source: str) -> None:
    """The right secret from this source: its count starts again."""
    row = ClientAuthFailure
    await session.execute(delete(row).where(row.client_id == client_id, row.source == source))
