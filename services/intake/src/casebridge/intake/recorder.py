"""The recorder: complaints logged at the same moment share one transaction.

A complaint's write is small; what costs is everything around it: a transaction, its
round trips and its commit (a WAL flush). So the routes hand their drafts to the recorder,
and the recorder logs whatever has arrived while its last transaction ran as one batch:
one matching statement and one write statement for all of them, and one commit (group
commit).
It is the boundary for that transaction, as the request session is for other routes.

Guarantees:
- A caller's answer comes only after its complaint committed (or with the reason it was
  not logged); nothing is acknowledged that a crash could lose.
- A complaint that cannot be logged fails alone: the domain answers with its error and the
  others are logged. A batch failing for another reason is retried one complaint per
  transaction, so only the faulty one fails; an outage fails them all at once (503).
- Two drafts with the same Idempotency-Key never share a batch: the second waits for the
  first to commit and is answered with its response.
- A caller that hangs up after handing over its draft does not cancel it: it is logged,
  and a retry with the Idempotency-Key gets its response.

Each recorder loop keeps one database connection between batches (checking one out of the
pool and back per batch cost more CPU than the batch's statements). It drops the
connection when a batch fails for an infrastructure reason or the server has ended it;
the next batch connects again. A batch with
idempotency keys to claim runs in a transaction begun and committed on the driver's
connection; one without needs none (see `_one_statement_will_do`). A session on the same
connection serves the rare steps that need the ORM, inside the transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request, Response
from prometheus_client import Histogram
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from casebridge.common.errors import AppError
from casebridge.common.events.errors import is_infrastructure_error
from casebridge.common.isp import Viewer
from casebridge.common.isp.directory import Directory
from casebridge.intake.areas import AreaDirectory
from casebridge.intake.complaints import Draft, log_complaints, preflight

log = logging.getLogger(__name__)
BATCH_SIZE = Histogram(
    "casebridge_intake_recorder_batch_size",
    "Complaints per recorder transaction",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 1000),
)


@dataclass
class _Pending:
    draft: Draft
    answer: asyncio.Future[Response]

    @property
    def key(self) -> tuple[str, str] | None:
        claim = self.draft.idempotency
        return None if claim is None else (claim.caller, claim.key)


# Where the recorder's connections come from: the engine (each loop keeps a connection of
# its own between batches), or one connection every loop shares (a test's rolled-back
# transaction). Asked each batch.
ConnectionSource = Callable[[], AsyncEngine | AsyncConnection]


class Recorder:
    def __init__(
        self,
        source: ConnectionSource,
        areas: AreaDirectory,
        partners: Directory,
        *,
        max_batch: int = 64,
        concurrency: int = 1,
    ) -> None:
        self._source = source
        self.areas = areas
        self.partners = partners
        self.max_batch = max_batch
        self.concurrency = concurrency
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._loops: list[asyncio.Task[None]] = []
        self._held: dict[int, AsyncConnection] = {}
        self.batches = 0  # transactions committed, for tests and metrics

    def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._run(n), name=f"recorder-{n}") for n in range(self.concurrency)
        ]

    async def stop(self) -> None:
        """Log what was handed over, then stop."""
        await self._queue.join()
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops = []
        for slot in list(self._held):
            await self._drop(slot, invalidate=False)

    async def log(self, draft: Draft) -> Response:
        """Log the draft with whatever else is waiting; its response once committed."""
        if not self._loops:
            raise RuntimeError("the recorder is not running")
        answer: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(draft, answer))
        return await answer

    async def _run(self, slot: int) -> None:
        while True:
            batch = self._next_batch(await self._queue.get())
            try:
                await self._record(batch, slot)
            except Exception as exc:  # a bug here must not stop the recorder
                log.exception("recording a batch of %d failed", len(batch))
                for pending in batch:
                    _settle(pending, exc)
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _next_batch(self, first: _Pending) -> list[_Pending]:
        """`first` and what else is waiting, up to max_batch; a draft whose idempotency key
        is already in the batch goes back to wait for the next one."""
        batch, keys, held = [first], {first.key}, []
        while len(batch) < self.max_batch and not self._queue.empty():
            pending = self._queue.get_nowait()
            if pending.key is not None and pending.key in keys:
                held.append(pending)
                continue
            batch.append(pending)
            keys.add(pending.key)
        for pending in held:
            self._queue.put_nowait(pending)
            self._queue.task_done()  # counted again by the put
        return batch

    async def _record(self, batch: list[_Pending], slot: int) -> None:
        drafts = [p.draft for p in batch]
        try:
            async with _session(self._source()) as session:  # rarely used: the directory caches
                checked = await preflight(session, drafts, self.partners)
            outcomes = await self._transaction(drafts, checked, slot)
        except Exception as exc:
            if len(batch) > 1 and not is_infrastructure_error(exc):
                log.warning("a batch of %d failed (%s): logging one at a time", len(batch), exc)
                for pending in batch:
                    await self._record([pending], slot)
                return
            for pending in batch:
                _settle(pending, exc)
            return
        for pending, outcome in zip(batch, outcomes, strict=True):
            _settle(pending, outcome)

    async def _transaction(
        self, drafts: list[Draft], checked: list[Viewer | AppError], slot: int
    ) -> list[Response | AppError]:
        connection = await self._connection(slot)
        try:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            if _one_statement_will_do(drafts, driver):
                outcomes = await self._log(connection, driver, drafts, checked)
            else:
                # BEGIN, or a savepoint when the connection is in a transaction (tests).
                async with driver.transaction():
                    outcomes = await self._log(connection, driver, drafts, checked)
        except Exception as exc:  # the caller settles the drafts; here: keep the link sound
            if is_infrastructure_error(exc):
                await self._drop(slot)  # a lost or broken connection: the next batch reconnects
            raise
        self.batches += 1
        BATCH_SIZE.observe(len(drafts))
        return outcomes

    async def _log(
        self,
        connection: AsyncConnection,
        driver: asyncpg.Connection[Any],
        drafts: list[Draft],
        checked: list[Viewer | AppError],
    ) -> list[Response | AppError]:
        """The domain's work, with a session on the same connection for its ORM steps (its
        transaction or savepoint ends here, inside the caller's)."""
        session = _session(connection)
        try:
            outcomes = await log_complaints(session, driver, drafts, self.areas, checked)
            await session.commit()
        finally:
            await session.close()
        return outcomes

    async def _connection(self, slot: int) -> AsyncConnection:
        """The loop's connection: kept between batches (or the one the source gives)."""
        bind = self._source()
        if isinstance(bind, AsyncConnection):
            return bind
        held = self._held.get(slot)
        if held is not None and (held.closed or held.invalidated or await _lost(held)):
            await self._drop(slot)
            held = None
        if held is None:
            held = self._held[slot] = await bind.connect()
        return held

    async def _drop(self, slot: int, *, invalidate: bool = True) -> None:
        held = self._held.pop(slot, None)
        if held is None:
            return
        try:
            if invalidate:
                await held.invalidate()
            await held.close()
        except Exception:  # a dead socket refuses even a close; it is thrown away either way
            log.debug("closing a recorder connection failed", exc_info=True)


def _session(bind: AsyncEngine | AsyncConnection) -> AsyncSession:
    """A session for the batch's rare ORM steps: on a connection, its transaction (or
    savepoint) ends inside the caller's."""
    return AsyncSession(bind=bind, expire_on_commit=False, join_transaction_mode="create_savepoint")


async def _lost(connection: AsyncConnection) -> bool:
    """The server ended the connection while it was idle (a restart, an administrator's
    pg_terminate_backend): the driver has seen it go, SQLAlchemy not yet."""
    driver = (await connection.get_raw_connection()).driver_connection
    return driver is None or bool(driver.is_closed())


def _one_statement_will_do(drafts: list[Draft], driver: asyncpg.Connection[Any]) -> bool:
    """Without idempotency keys to claim, a batch needs no transaction of its own: matching
    only reads (and draws reference numbers, which no transaction returns), and the write
    is one statement, atomic by itself, so BEGIN and COMMIT would be two more round trips
    for nothing. If a rare step reads or changes a log through the ORM (a chosen log, a
    completed one), the session has begun a transaction by the time of the write, the
    write runs inside it and the session's commit commits both."""
    return not driver.is_in_transaction() and all(d.idempotency is None for d in drafts)


def _settle(pending: _Pending, outcome: Response | BaseException) -> None:
    if pending.answer.done():  # the caller hung up; its complaint stands
        return
    if isinstance(outcome, BaseException):
        pending.answer.set_exception(outcome)
    else:
        pending.answer.set_result(outcome)


async def _recorder(request: Request) -> Recorder:
    recorder: Recorder = request.app.state.recorder
    return recorder


ComplaintRecorder = Annotated[Recorder, Depends(_recorder)]
