"""CSV for every figure: chosen by `?format=csv` or `Accept: text/csv`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel

from casebridge.stats.schemas import OutputFormat

CSV_TYPE = "text/csv; charset=utf-8"


def wants_csv(request: Request, fmt: OutputFormat | None) -> bool:
    if fmt is not None:
        return fmt is OutputFormat.csv
    accept = request.headers.get("accept", "")
    return any(part.split(";")[0].strip() == "text/csv" for part in accept.split(","))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value)
    # A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _number(text) else text


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_response(
    columns: Sequence[str], rows: Iterable[Mapping[str, Any]], *, filename: str
) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return Response(
        buffer.getvalue(),
        media_type=CSV_TYPE,
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


def json_response(model: BaseModel) -> Response:
    """The model as JSON, serialised once (a returned model would be validated again
    against the route's response model first)."""
    return Response(model.model_dump_json(), media_type="application/json")


def csv_openapi(example: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI entry for a route that also answers in CSV."""
    return {
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}, "example": example}},
            "description": "JSON, or CSV with `?format=csv` / `Accept: text/csv`",
        }
    }
