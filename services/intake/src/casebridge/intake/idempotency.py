"""Idempotency-Key on every POST: the same key and body get the first response again; the
same key with another body is a 409. The record is written in the transaction of the
effect, so a rolled-back request leaves no key behind and a committed one always has it."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, Header, Request, Response
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.db import DbSession
from casebridge.common.errors import AppError
from casebridge.intake.errors import IdempotencyKeyReused
from casebridge.intake.models import IdempotencyRecord

_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
REPLAYED_HEADER = "Idempotent-Replayed"


class BadIdempotencyKey(AppError):
    status_code = 422
    code = "validation_error"

    def __init__(self) -> None:
        super().__init__(
            [{"field": "header.idempotency-key", "reason": "must be 1-200 printable characters"}]
        )


def fingerprint(method: str, path: str, content_type: str, body: bytes) -> str:
    """The same request in another byte order (JSON keys, form fields) is the same."""
    canonical: bytes = body
    try:
        if "json" in content_type:
            canonical = json.dumps(json.loads(body), sort_keys=True).encode()
        elif "form" in content_type:
            canonical = json.dumps(sorted(parse_qsl(body.decode()))).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    return hashlib.sha256(f"{method} {path}\n".encode() + canonical).hexdigest()


@dataclass(frozen=True)
class Claim:
    """A request's claim on its Idempotency-Key: who sent it, the key, the request's hash."""

    caller: str
    key: str
    request_sha256: str


@dataclass(frozen=True)
class IdempotencyKey:
    """The request's Idempotency-Key (None without one) and its fingerprint."""

    key: str | None
    request_sha256: str

    def claim(self, caller: str) -> Claim | None:
        return None if self.key is None else Claim(caller, self.key, self.request_sha256)


async def claim_many(session: AsyncSession, claims: Sequence[Claim]) -> set[tuple[str, str]]:
    """Claim the keys in the session's transaction; the answer holds those claimed now. A
    key claimed by a transaction still running waits for it (then it is not claimed);
    keys are claimed in one order, so two batches never wait for each other in a cycle."""
    if not claims:
        return set()
    rows = await session.execute(
        insert(IdempotencyRecord)
        .values([asdict(c) for c in sorted(claims, key=lambda c: (c.caller, c.key))])
        .on_conflict_do_nothing()
        .returning(IdempotencyRecord.caller, IdempotencyRecord.key)
    )
    return {(row.caller, row.key) for row in rows}


async def replay(session: AsyncSession, claim: Claim) -> Response:
    """The first response again, or IdempotencyKeyReused if the key came with another request."""
    record = await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.caller == claim.caller, IdempotencyRecord.key == claim.key
        )
    )
    assert record is not None
    if record.request_sha256 != claim.request_sha256:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used with a different request; use a new key"
        )
    return Response(
        content=record.body or "",
        status_code=record.status_code,
        media_type=record.media_type,
        headers={REPLAYED_HEADER: "true"},
    )


def stored(claim: Claim, response: Response) -> dict[str, Any]:
    """The record's values once the first response is known."""
    return {
        "caller": claim.caller,
        "key": claim.key,
        "status_code": response.status_code,
        "media_type": response.media_type or "application/json",
        "body": bytes(response.body).decode(),
    }


def released(claim: Claim) -> dict[str, str]:
    """A claim whose request failed: removed, so a retry is a first attempt again."""
    return {"caller": claim.caller, "key": claim.key}


@dataclass
class Idempotency:
    """Idempotency for a route that works in the request's own session."""

    session: AsyncSession
    key: IdempotencyKey

    async def run(self, produce: Callable[[], Awaitable[Response]], *, caller: str) -> Response:
        claim = self.key.claim(caller)
        if claim is None:
            return await produce()
        if not await claim_many(self.session, [claim]):
            return await replay(self.session, claim)
        response = await produce()
        await self.session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.caller == claim.caller, IdempotencyRecord.key == claim.key)
            .values(
                {k: v for k, v in stored(claim, response).items() if k not in ("caller", "key")}
            )
        )
        return response


async def _idempotency_key(
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            description="Send the same key to retry safely: the first response is returned "
            "again. Another request body with the same key is a 409. 1-200 printable ASCII "
            "characters, no spaces.",
            min_length=1,
            max_length=200,
            pattern=r"^[\x21-\x7e]+$",
        ),
    ] = None,
) -> IdempotencyKey:
    if idempotency_key is None:
        # Nothing to compare a retry with: skip hashing the body.
        return IdempotencyKey(None, "")
    if not _KEY.match(idempotency_key):
        raise BadIdempotencyKey
    body = await request.body()
    sha = fingerprint(
        request.method, request.url.path, request.headers.get("content-type", ""), body
    )
    return IdempotencyKey(idempotency_key, sha)


IdempotencyKeyHeader = Annotated[IdempotencyKey, Depends(_idempotency_key)]


async def _idempotency(session: DbSession, key: IdempotencyKeyHeader) -> Idempotency:
    return Idempotency(session, key)


Idempotent = Annotated[Idempotency, Depends(_idempotency)]
