"""Letters to the applicant, rendered from the area's Jinja2 templates (HTML, autoescaped),
and as PDF for the post and the case file (fpdf2: pure Python, no system libraries).

An area may replace any template in its procedure; those run in Jinja2's sandbox, since
they are data, not code.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fpdf import FPDF
from jinja2 import PackageLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.review import LetterIssued
from casebridge.common.errors import NotFound
from casebridge.common.events import outbox
from casebridge.common.periods import local_date
from casebridge.review.config import AreaRules
from casebridge.review.models import CaseReview, ReviewDeadline, ReviewLetter


def _day(value: date | datetime | None) -> str:
    """A date as a letter writes it (1 April 2027), a moment by its date in London."""
    if value is None:
        return ""
    day = local_date(value) if isinstance(value, datetime) else value
    return f"{day.day} {day.strftime('%B %Y')}"


_ENV = SandboxedEnvironment(
    loader=PackageLoader("casebridge.review", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
)
_ENV.filters["day"] = _day

# A Unicode font when the system has one (DejaVu: fonts-dejavu-core on Debian); else the PDF
# core font, which has Latin-1 only, and other characters are shown as "?".
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts/dejavu"),
)
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL | re.IGNORECASE)
_HEADER = re.compile(r"</?header[^>]*>", re.IGNORECASE)


@cache
def _unicode_font() -> Path | None:
    for folder in FONT_CANDIDATES:
        if (folder / "DejaVuSans.ttf").is_file() and (folder / "DejaVuSans-Bold.ttf").is_file():
            return folder
    return None


def to_pdf(html: str, *, title: str) -> bytes:
    """The letter as an A4 PDF: the body of the HTML letter, as rendered and stored."""
    match = _BODY.search(html)
    body = _HEADER.sub("", match.group(1) if match else html)
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_margins(25, 25, 25)
    pdf.add_page()
    fonts = _unicode_font()
    if fonts is not None:
        pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
        pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
        pdf.set_font("DejaVu", size=11)
    else:
        pdf.set_font("helvetica", size=11)
        body = body.encode("latin-1", "replace").decode("latin-1")
    pdf.write_html(body)
    return bytes(pdf.output())


def render(kind: str, rules: AreaRules, context: dict[str, Any]) -> str:
    """The area's own template when it has one, else the default."""
    override = rules.letters.get(kind)
    template = _ENV.from_string(override) if override else _ENV.get_template(f"{kind}.html")
    return template.render(area=rules, **context)


async def issue_letter(
    session: AsyncSession,
    review: CaseReview,
    kind: str,
    *,
    rules: AreaRules,
    at: datetime,
    access_code: str | None = None,
) -> ReviewLetter:
    """Render, store with the review, and announce the letter (no content in the event).
    `access_code` is what the letter kept shows of the applicant's code: its mask."""
    deadlines = list(
        await session.scalars(
            select(ReviewDeadline)
            .where(ReviewDeadline.review_id == review.id, ReviewDeadline.met_at.is_(None))
            .order_by(ReviewDeadline.due_on)
        )
    )
    html = render(
        kind,
        rules,
        {
            "review": review,
            "today": local_date(at),
            "open_deadlines": deadlines,
            "access_code": access_code,
        },
    )
    letter = ReviewLetter(review_id=review.id, kind=kind, html=html, created_at=at)
    session.add(letter)
    await session.flush()
    event = LetterIssued(
        review_id=review.id,
        reference=review.reference,
        letter_id=letter.id,
        kind=kind,
        issued_at=at,
        formats=["html", "pdf"],
    )
    outbox.add(session, event, area_id=review.area_id, aggregate_id=review.id)
    return letter


async def list_letters(session: AsyncSession, review: CaseReview) -> list[ReviewLetter]:
    return list(
        await session.scalars(
            select(ReviewLetter)
            .where(ReviewLetter.review_id == review.id)
            .order_by(ReviewLetter.created_at, ReviewLetter.id)
        )
    )


async def get_letter(session: AsyncSession, review: CaseReview, letter_id: Any) -> ReviewLetter:
    letter = await session.scalar(
        select(ReviewLetter).where(
            ReviewLetter.review_id == review.id, ReviewLetter.id == letter_id
        )
    )
    if letter is None:
        raise NotFound("letter not found")
    return letter
