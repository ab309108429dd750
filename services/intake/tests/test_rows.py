"""The fast path's rows match the models: every table the recorder writes with
`jsonb_populate_recordset` is staged with exactly its columns (the documented exception: the
outbox's bookkeeping columns keep their server defaults), so a column added to a model is
never written as NULL behind its server default's back."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import Response

from casebridge.common.auth import Principal
from casebridge.intake import batch_write, complainants, complaints, idempotency, risk_at_call, rows
from casebridge.intake.areas import ServedArea
from casebridge.intake.config import AreaConfigs
from casebridge.intake.idempotency import Claim
from casebridge.intake.logged import LoggedComplaint, new_complaint
from casebridge.intake.matching import Candidate, Found
from casebridge.intake.models import IdempotencyRecord, Incident, Person
from casebridge.intake.repeat_victims import Counted
from casebridge.intake.schemas.complaints import ComplaintCreate

from .helpers import complaint
from .test_risk import HIGH as RISK  # answers that flag the victim vulnerable

AREA = ServedArea(id=uuid.uuid4(), code="DMO", config=AreaConfigs(None).default)
WHO = Principal(
    subject="officer-1",
    client_id="client",
    agency_id=uuid.uuid4(),
    area_id=AREA.id,
    scopes=frozenset(),
)


def _respond(logged: LoggedComplaint, how: str | None) -> Response:
    return Response(content=json.dumps({"reference": logged.reference}), status_code=201)


def _log(batch: batch_write.Batch, found: Found, n: int) -> None:
    """Stage one complaint with every detail (references, perpetrator, witness, risk
    answers flagging the victim) on `found`'s log, as log_complaints does."""
    body = complaint(
        agency_references=[{"agency_id": str(WHO.agency_id), "reference": f"INC-{n}"}],
        perpetrators=[{"kind": "person", "name": "Pat Example", "address": "2 Example St"}],
        witnesses=[{"name": "Wyn Example", "phone": "020 7946 0019"}],
        risk_answers=RISK,
    )
    data = ComplaintCreate.model_validate(body)
    draft = complaints.Draft(WHO, data, respond=_respond)
    logged = new_complaint(
        WHO, data, area=AREA, sequence=n, found=found, backdated=None, open311_client_id=None
    )
    complaints._stage(batch, logged, AREA, found)
    scored = risk_at_call.score(data, AREA)
    assert scored is not None
    logged = risk_at_call.stage(batch, logged, AREA, WHO, scored, found)
    since = datetime.now(UTC) - timedelta(days=365)
    complaints._count_towards_repeat_victim(batch, logged, AREA, found, since)
    claim = Claim(WHO.client_id, f"key-{n}", "0" * 64)
    batch.responses.append(idempotency.stored(claim, draft.respond(logged, None)))
    batch.released.append(idempotency.released(Claim(WHO.client_id, f"gone-{n}", "0" * 64)))


@pytest.fixture(scope="module")
def document() -> dict[str, list[dict[str, Any]]]:
    """A batch of a new complainant's complaint and a kept log's (its consent, its
    vulnerability and its repeat-victim mark), as the one JSON document written."""
    batch = batch_write.Batch()
    details = ComplaintCreate.model_validate(complaint()).complainant
    assert details is not None
    assert details.details is not None
    new = complainants.new_person_row(AREA.id, details.details)
    _log(batch, Found(new["id"], new["kind"], "created", new_row=new), 1)
    rule = AREA.config.repeat_victim
    earlier = tuple(
        Counted(uuid.uuid4(), uuid.uuid4(), datetime.now(UTC)) for _ in range(rule.complaints)
    )
    kept = Found(uuid.uuid4(), "individual", "attached", recent=earlier)
    _log(batch, kept, 2)
    parsed: dict[str, list[dict[str, Any]]] = json.loads(batch.document())
    return parsed


@pytest.mark.parametrize(("key", "table", "columns"), batch_write._TABLES, ids=lambda v: str(v))
def test_staged_rows_have_their_tables_columns(
    document: dict[str, list[dict[str, Any]]], key: str, table: Any, columns: Any
) -> None:
    staged = document[key]
    assert staged, f"the batch staged no {key} row"
    expected = set(columns or [c.name for c in table.columns])
    for row in staged:
        assert set(row) == expected, f"{key}: staged {sorted(row)} for {sorted(expected)}"


def test_outbox_exception_is_only_bookkeeping() -> None:
    """The outbox's columns left out are the relay's own, each with a server default."""
    table = rows.table_of(batch_write.OutboxMessage)
    left_out = [c for c in table.columns if c.name not in batch_write.OUTBOX_COLUMNS]
    assert left_out
    for column in left_out:
        assert column.server_default is not None or column.nullable, column.name


def test_kept_logs_update_only_their_columns(
    document: dict[str, list[dict[str, Any]]],
) -> None:
    touched = document["touched"]
    assert touched
    for row in touched:
        assert set(row) <= set(batch_write.TOUCHED_COLUMNS)
        assert set(row) > {"id"}


def test_idempotency_rows_name_their_records(
    document: dict[str, list[dict[str, Any]]],
) -> None:
    primary_key = {c.name for c in rows.table_of(IdempotencyRecord).primary_key.columns}
    assert {frozenset(r) for r in document["responses"]} == {
        frozenset(batch_write.IDEMPOTENCY_STORED)
    }
    assert {frozenset(r) for r in document["released"]} == {frozenset(primary_key)}


def test_row_of_fills_model_defaults_and_refuses_what_only_the_server_knows() -> None:
    row = rows.row_of(Incident, area_id=AREA.id)
    assert set(row) == {"id", "area_id", "created_at"}
    assert isinstance(row["id"], uuid.UUID)
    assert isinstance(row["created_at"], datetime)
    with pytest.raises(ValueError, match="needs area_id"):
        rows.row_of(Incident)
    with pytest.raises(ValueError, match="no column colour"):
        rows.row_of(Incident, area_id=AREA.id, colour="red")
    # status_code has a server default only: the recorder must say what it is.
    with pytest.raises(ValueError, match="needs status_code"):
        rows.row_of(IdempotencyRecord, caller="c", key="k", request_sha256="0" * 64, body=None)


def test_new_log_takes_the_models_defaults(
    document: dict[str, list[dict[str, Any]]],
) -> None:
    (row,) = document["person"]
    assert row["consent_status"] == "given"  # its complaint's word on sharing
    assert row["vulnerable"] is True  # flagged by the risk answers at the call
    assert row["repeat_victim_at"] is None
    assert row["merged_into_id"] is None
    assert row["override_purposes"] == []


def test_a_candidate_reads_every_column_of_a_person() -> None:
    fields = [f.name for f in dataclasses.fields(Candidate)]
    assert fields == [*(c.key for c in rows.table_of(Person).columns), "recent"]
