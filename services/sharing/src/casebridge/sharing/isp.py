"""The minimal information-sharing rule, until the full protocol (a versioned, validated
document per area) replaces it: a default-deny allow-list of complaint fields per recipient
kind. A field not listed here reaches nobody."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from casebridge.common.contracts.intake import ComplaintLogged

PURPOSE = "asb_case_management"
LEGAL_BASIS = "Crime and Disorder Act 1998 s115"

_CASE_FIELDS = frozenset(
    {
        "reference",
        "complaint_id",
        "asb_type",
        "nsir_category",
        "hate_motivated",
        "occurred_at",
        "reported_at",
        "receiving_agency_id",
    }
)
# Identify the complainant: never to a housing provider (possibly the perpetrator's landlord)
# without the complainant's consent.
_IDENTIFYING = frozenset({"postcode", "person_id"})

ALLOWED: dict[str, frozenset[str]] = {
    "police": _CASE_FIELDS | _IDENTIFYING,
    "council": _CASE_FIELDS | _IDENTIFYING,
    "housing": _CASE_FIELDS,
}
WITH_CONSENT: dict[str, frozenset[str]] = {"housing": _IDENTIFYING}
CONSENT_REFUSED = frozenset({"refused", "withdrawn"})

Outcome = Literal["delivered", "refused"]


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    data: dict[str, Any]
    reason: str | None = None

    @property
    def fields(self) -> list[str]:
        return sorted(self.data)


def decide_complaint(event: ComplaintLogged, recipient_kind: str) -> Decision:
    """What one partner of this kind may receive of a logged complaint."""
    if event.consent_to_share in CONSENT_REFUSED:
        return Decision("refused", {}, f"consent to share {event.consent_to_share}")
    allowed = ALLOWED.get(recipient_kind, frozenset())
    if event.consent_to_share == "given":
        allowed = allowed | WITH_CONSENT.get(recipient_kind, frozenset())
    if not allowed:
        return Decision("refused", {}, f"no sharing rule for {recipient_kind} partners")
    values = event.model_dump(mode="json", include=set(allowed))
    return Decision("delivered", {k: v for k, v in values.items() if v is not None})
