"""Reads leave a trace (issue 15, LEG-R3 "consultation", DPA 2018 s62): every record of
personal data a presenter hands to a caller becomes an access record naming who (the user
and client of one agency), which record and which of its fields, when, and for what purpose.

Cheap on the hot path: a presenter appends to an in-process buffer (no I/O); a flusher task
writes the buffer with ONE multi-row INSERT per flush, every `access_flush_seconds` (and at
once when `access_flush_rows` are waiting), and once more at shutdown. The INSERT reads its
rows from one JSON parameter (`jsonb_to_recordset`): the statement's text never changes, so
nothing is compiled per flush (SQLAlchemy's `insert().values(rows)` compiled a 500-row
statement in ~85 ms of CPU, more than the reads it recorded cost).

The trade-off, chosen and measured (bench/access_bench.py): a process that crashes (SIGKILL,
power loss) loses the records of at most its last flush interval; a clean stop loses none.
Writing the record in the read's own transaction would lose none, but costs every read a
write and a commit. The buffer is bounded (`access_buffer_rows`): when it is full (the
database cannot keep up, or is down) reads are refused with 503 rather than served untraced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from prometheus_client import Counter
from pydantic_core import to_json
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Insert,
    MetaData,
    String,
    Table,
    Uuid,
    bindparam,
    cast,
    column,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from casebridge.common.db import new_id, utcnow
from casebridge.common.errors import AppError
from casebridge.common.events.errors import is_infrastructure_error

if TYPE_CHECKING:
    from casebridge.common.auth import Principal
    from casebridge.common.isp import Decision

log = logging.getLogger(__name__)

WRITTEN = Counter("casebridge_access_records_written_total", "Access records written")
REFUSED = Counter(
    "casebridge_access_reads_refused_total", "Reads refused: the access-record buffer was full"
)

PURPOSE_HEADER = "Casebridge-Purpose"
# Every field of the record was shown (the recording agency's own view).
WHOLE = "*"
# Rows per INSERT, to keep one statement's document to a few megabytes.
MAX_ROWS_PER_INSERT = 5000


def access_record_table(metadata: MetaData) -> Table:
    """The service's access records (append-only: the API inserts and the DPO reads)."""
    return Table(
        "access_record",
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("area_id", Uuid, nullable=False),
        Column("agency_id", Uuid, nullable=False),  # the reader's agency
        Column("client_id", String(200), nullable=False),
        Column("user_id", String(200), nullable=False),  # the token's act.sub, else its sub
        Column("record_type", String(30), nullable=False),
        Column("record_id", Uuid, nullable=False),
        Column("controller_agency_ids", ARRAY(Uuid), nullable=False),
        Column("fields", ARRAY(String(60)), nullable=False),  # names, never values
        Column("purpose", String(100), nullable=True),
        Column("route", String(200), nullable=False),
        Index("ix_access_record_area_id", "area_id", "id"),
        Index("ix_access_record_record", "record_id", "id"),
        Index("ix_access_record_controllers", "controller_agency_ids", postgresql_using="gin"),
    )


def insert_from_json(table: Table) -> Insert:
    """`INSERT ... SELECT` of every column from a JSON array of row objects (`:rows`)."""
    rows = (
        func.jsonb_to_recordset(cast(bindparam("rows", type_=String), JSONB))
        .table_valued(*(column(c.name, c.type) for c in table.columns))
        .render_derived(name="r", with_types=True)
    )
    names = [c.name for c in table.columns]
    return insert(table).from_select(names, select(*(rows.c[name] for name in names)))


class AccessUnrecorded(AppError):
    """A read that cannot be traced is not served."""

    status_code = 503
    code = "access_log_full"


@dataclass
class Trail:
    """One request's reader, bound once its token is verified."""

    log: AccessLog | None
    route: str
    purpose: str | None
    principal: Principal | None = None


_trail: ContextVar[Trail | None] = ContextVar("casebridge_access_trail", default=None)


def bind(principal: Principal) -> None:
    """The request's caller is known: its reads from now on are traced to it."""
    trail = _trail.get()
    if trail is not None:
        trail.principal = principal


def shown(
    record_type: str,
    record_id: UUID | None,
    decision: Decision,
    *,
    controllers: Iterable[UUID | None] = (),
) -> None:
    """A presenter hands this record to the caller, with the fields the decision lets
    through; `controllers` are the agencies that recorded it (their DPOs audit the read)."""
    trail = _trail.get()
    if trail is None or trail.log is None or trail.principal is None or record_id is None:
        return
    fields = [WHOLE] if decision.whole else sorted(decision.fields)
    trail.log.add(trail, record_type, record_id, fields, [c for c in controllers if c])


def shown_fields(
    record_type: str,
    record_id: UUID,
    fields: Iterable[str],
    *,
    controllers: Iterable[UUID | None] = (),
) -> None:
    """As `shown`, for a part of a record (its history, deadlines, letters) by name."""
    trail = _trail.get()
    if trail is None or trail.log is None or trail.principal is None:
        return
    trail.log.add(trail, record_type, record_id, sorted(fields), [c for c in controllers if c])


@dataclass
class AccessLog:
    """The process's buffer of access records and the task that writes them."""

    table: Table
    sessions: Callable[[], async_sessionmaker[AsyncSession]]
    flush_seconds: float = 0.5
    flush_rows: int = 500
    max_rows: int = 20_000
    _rows: list[dict[str, Any]] = field(default_factory=list)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _stopping: bool = False
    written: int = 0

    def __post_init__(self) -> None:
        self._insert = insert_from_json(self.table)

    def add(
        self,
        trail: Trail,
        record_type: str,
        record_id: UUID,
        fields: list[str],
        controllers: list[UUID],
    ) -> None:
        if len(self._rows) >= self.max_rows:
            REFUSED.inc()
            raise AccessUnrecorded(
                "reads cannot be recorded just now; retry shortly", headers={"Retry-After": "1"}
            )
        principal = trail.principal
        assert principal is not None
        self._rows.append(
            {
                "id": new_id(),
                "occurred_at": utcnow(),
                "area_id": principal.area_id,
                "agency_id": principal.agency_id,
                "client_id": principal.client_id[:200],
                "user_id": (principal.actor or principal.subject)[:200],
                "record_type": record_type,
                "record_id": record_id,
                "controller_agency_ids": controllers,
                "fields": fields,
                "purpose": trail.purpose or principal.purpose or None,
                "route": trail.route[:200],
            }
        )
        if len(self._rows) >= self.flush_rows:
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._rows)

    async def flush(self) -> int:
        """Write what is buffered, one INSERT per `MAX_ROWS_PER_INSERT` rows; on failure
        the rows go back to the buffer's front for the next flush."""
        done = 0
        while self._rows:
            batch, self._rows = self._rows[:MAX_ROWS_PER_INSERT], self._rows[MAX_ROWS_PER_INSERT:]
            try:
                async with self.sessions()() as session:
                    await session.execute(self._insert, {"rows": to_json(batch).decode()})
                    await session.commit()
            except BaseException:  # whatever stopped it (cancelled too): the rows go back
                self._rows = batch + self._rows
                raise
            done += len(batch)
            WRITTEN.inc(len(batch))
        self.written += done
        return done

    def start(self) -> None:
        """Flush on a timer (`flush_seconds` 0: only when asked, and at shutdown)."""
        if self.flush_seconds > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name="access-log-flusher")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._wake.set()
            await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.flush()
        if self._rows:
            log.error("%d access records could not be written at shutdown", len(self._rows))

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.flush_seconds)
            self._wake.clear()
            try:
                await self.flush()
            except Exception as exc:  # the rows stay buffered (flush puts them back)
                if is_infrastructure_error(exc):  # the database is away: try again next time
                    log.warning("access records not written (%d waiting): %s", self.pending, exc)
                else:  # a bug: said with its trace, and still retried (reads must stay traced)
                    log.exception("access records not written (%d waiting)", self.pending)


class TraceReads:
    """Opens each request's trail (its route and declared purpose); `bind` names its
    caller once the token is verified; presenters add to it through `shown`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):  # writes leave records of their own
            await self.app(scope, receive, send)
            return
        access_log = getattr(scope["app"].state, "access_log", None) if "app" in scope else None
        purpose = _header(scope, PURPOSE_HEADER.lower().encode())
        trail = Trail(access_log, f"{scope['method']} {scope['path']}", purpose)
        token = _trail.set(trail)
        try:
            await self.app(scope, receive, send)
        finally:
            _trail.reset(token)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return value.decode("latin-1").strip()[:100] or None
    return None
