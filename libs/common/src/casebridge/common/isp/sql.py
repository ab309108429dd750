"""The protocol's conditions as SQL, for lists filtered in the database: the same rule as
`Basis.holds` (decide.py), over a row's consent and override columns, so a list never holds
a row a read of it would refuse."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, true
from sqlalchemy.orm import InstrumentedAttribute

from casebridge.common.isp.catalogue import Condition
from casebridge.common.isp.decide import REFUSED


def condition_holds(
    condition: Condition,
    consent: ColumnElement[str] | InstrumentedAttribute[str],
    override: ColumnElement[bool],
) -> ColumnElement[bool]:
    """`Basis.holds(condition, purpose)` in SQL: `override` is whether the row records an
    override for the grant's purpose."""
    match condition:
        case Condition.always:
            return true()
        case Condition.unless_refused:
            return or_(consent.not_in(REFUSED), override)
        case Condition.consent:
            return consent == "given"
        case Condition.consent_or_override:
            return or_(consent == "given", override)
        case Condition.override:
            return override
