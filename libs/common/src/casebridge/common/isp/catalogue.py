"""What Casebridge can share: each class of data, its fields, what each field is, and the
relations an agency can have to one record of that class.

The information-sharing protocol (a document per area, `document.py`) grants fields of
these classes; this catalogue is the code's side of the contract: a field the catalogue
does not know cannot be granted, and every read model and event projects onto these names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Tag(StrEnum):
    """What a field is, for the law. A field may carry several tags."""

    personal = "personal"  # about an identifiable person (UK GDPR Art 4(1))
    identity = "identity"  # identifies a complainant, victim or witness (LEG-R2)
    special_category = "special_category"  # Art 9: health, disability, ethnicity ...
    criminal_offence = "criminal_offence"  # Art 10: offences and allegations of them
    free_text = "free_text"  # narrative: restricted unless the protocol clears it


class Relation(StrEnum):
    """How an agency stands to one record. An agency may stand in several relations."""

    recorder = "recorder"  # recorded it (a complaint's receiving agency, a review's receiver)
    core_partner = "core_partner"  # a core partner of the area (council, police, housing ...)
    area_partner = "area_partner"  # any registered agency of the area
    invited = "invited"  # invited to this case by the partnership
    perpetrator_landlord = "perpetrator_landlord"  # landlord of an alleged perpetrator named
    spoc = "spoc"  # the area's single point of contact for case reviews
    panel = "panel"  # a member of the area's case review panel


class Condition(StrEnum):
    """When a rule applies to one record, from the record's consent and overrides."""

    always = "always"
    unless_refused = "unless_refused"  # consent not refused or withdrawn (or an override)
    consent = "consent"  # the victim consented to share
    consent_or_override = "consent_or_override"
    override = "override"  # an override (e.g. risk of harm) recorded for the rule's purpose


# Purposes where the complainant's identity may reach the perpetrator's landlord, and only
# with a recorded override (reliability.md LEG-R2, the mandatory rule).
LANDLORD_IDENTITY_PURPOSES = frozenset({"injunction_application", "asb_case_review_s104"})

AGENCY_KINDS = (
    "council",
    "police",
    "housing",
    "health",
    "fire",
    "social_care",
    "youth_justice",
    "other",
)


@dataclass(frozen=True)
class DataClass:
    """A class of records: its fields with their tags, and the relations that mean something."""

    name: str
    description: str
    fields: Mapping[str, frozenset[Tag]]
    relations: frozenset[Relation]
    # The recorder relation sees the whole record without a rule (it is its own record).
    recorder_sees_all: bool = True
    events: tuple[str, ...] = field(default=())

    def tagged(self, tag: Tag) -> frozenset[str]:
        return frozenset(name for name, tags in self.fields.items() if tag in tags)


_P = frozenset({Tag.personal})
_ID = frozenset({Tag.personal, Tag.identity})
_TEXT = frozenset({Tag.personal, Tag.free_text})
_NONE: frozenset[Tag] = frozenset()
_CASE = frozenset(
    {Relation.recorder, Relation.core_partner, Relation.area_partner, Relation.invited}
)

COMPLAINT = DataClass(
    "complaint",
    "One report by one complainant to one agency (intake).",
    {
        "id": _NONE,
        "reference": _NONE,
        "area_id": _NONE,
        "receiving_agency_id": _NONE,
        "channel": _NONE,
        "status": _NONE,
        "person_id": _ID,  # a pseudonymous key to the complainant's log
        "incident_id": _NONE,
        "agency_references": _NONE,
        "occurred_at": _NONE,
        "reported_at": _NONE,
        "recorded_at": _NONE,
        "backdated": _NONE,
        "backdated_reason": _TEXT,
        "backdated_by": _P,  # the officer who back-dated it
        "address": _ID,  # the place of the behaviour: often the victim's home
        "postcode": _ID,
        "postcode_district": _NONE,
        "uprn": _ID,
        "latitude": _ID,
        "longitude": _ID,
        "nsir_category": _NONE,
        "asb_type": _NONE,
        "hate_motivated": _NONE,
        "anonymous": _NONE,
        "description": _TEXT,
        "perpetrators": _P,
        "witnesses": _ID | {Tag.free_text},
        "complainant": _ID,  # the complainant's details as given with this complaint
        "consent_status": _NONE,
        "consent_recorded_at": _NONE,
        "shared_by_override": _NONE,
        "risk_band": _P,
        "risk_next_step": _P,  # what the area's procedure does next for that band
        "vulnerable": frozenset({Tag.personal, Tag.special_category}),
        "created_at": _NONE,
        "updated_at": _NONE,
    },
    _CASE | {Relation.perpetrator_landlord},
    events=("complaint.logged", "complaint.updated", "consent.changed", "incident.linked",
            "incident.unlinked", "complaint.reference_added"),
)  # fmt: skip

# Every field of a complainant's log identifies the complainant to someone who holds
# another part of the picture (the log's id links complaints): all of it is identity.
_LOG = frozenset({Tag.personal, Tag.identity})
_LOG_HEALTH = _LOG | {Tag.special_category}

PERSON = DataClass(
    "person",
    "A complainant's log: who they are (intake). An agency always sees what it supplied.",
    {
        "id": _LOG,
        "kind": _LOG,
        "name": _LOG,
        "date_of_birth": _LOG,
        "phone": _LOG,
        "email": _LOG,
        "address": _LOG,
        "postcode": _LOG,
        "repeat_victim": _LOG,
        "repeat_victim_at": _LOG,
        "vulnerable": _LOG_HEALTH,
        "vulnerability_reasons": _LOG_HEALTH | {Tag.free_text},
        "known": _LOG,  # that the caller was already on the log when matched
        "created_at": _LOG,
    },
    _CASE | {Relation.perpetrator_landlord},
    # An agency with a complaint on the log is its recorder, but the log holds what other
    # agencies recorded too: the recorder sees its own details, and only what rules grant.
    recorder_sees_all=False,
    events=("person.repeat_victim_marked", "person.merged", "person.vulnerability_changed"),
)

RISK = DataClass(
    "risk",
    "A risk assessment of a complaint (intake).",
    {
        "id": _NONE,
        "complaint_id": _NONE,
        "person_id": _ID,
        "config_version": _NONE,
        "answers": frozenset({Tag.personal, Tag.special_category}),
        "score": _P,
        "band": _P,
        "previous_band": _P,
        "agency_id": _NONE,
        "assessed_at": _NONE,
    },
    _CASE | {Relation.perpetrator_landlord},
    events=("risk.assessed",),
)

REVIEW = DataClass(
    "review",
    "An ASB Case Review: the application and its procedure (review).",
    {
        "id": _NONE,
        "reference": _NONE,
        "state": _NONE,
        "person_id": _ID,
        "applicant_kind": _NONE,
        "applicant_name": _ID,
        "applicant_contact": _ID,
        "relationship": _ID,
        "consent_recorded": _NONE,
        "received_by_agency_id": _NONE,
        "summary": _TEXT,
        "complaint_ids": _NONE,
        "behaviour_complaint_id": _NONE,
        "behaviour_note": _TEXT,
        "trigger_id": _NONE,
        "config_version": _NONE,
        "threshold_met": _NONE,
        "threshold_automatic": _NONE,
        "threshold_reasons": _TEXT,
        "counting": _NONE,  # each complaint considered and why it counted or not
        "meeting_at": _NONE,
        "minutes": _TEXT,
        "information_supplied": _TEXT,
        "lead_agency_id": _NONE,
        "recommendations": _TEXT,
        "recommendation_count": _NONE,  # how many were agreed (the texts are `recommendations`)
        # The action plan: each action's agency and due date (agency ids and dates only; what
        # the action is stays with the review as free text).
        "actions": _NONE,
        "action_plan_agreed_at": _NONE,
        "victim_consulted": _NONE,
        "outcome": _TEXT,
        "escalation_reason": _TEXT,
        "escalation_of": _NONE,
        "escalation_requested_at": _NONE,
        "escalation_upheld": _NONE,
        "escalation_decision": _TEXT,
        "closure_reason": _TEXT,
        "applied_at": _NONE,
        "recorded_at": _NONE,
        "backdated_reason": _TEXT,
        "backdated_by": _P,
        "updated_at": _NONE,
        "closed_at": _NONE,
        "letters": _ID | {Tag.free_text},
        # One letter issued to the applicant, never its content (that is `letters`).
        "letter_id": _NONE,
        "letter_kind": _NONE,
        "letter_issued_at": _NONE,
        "history": _NONE,
        "deadlines": _NONE,
    },
    _CASE | {Relation.spoc, Relation.panel},
    events=("case_review.applied", "case_review.transitioned", "case_review.threshold_decided",
            "case_review.recommendations_made", "case_review.deadline_missed",
            "case_review.letter_issued", "case_review.escalation_decided"),
)  # fmt: skip

TRIGGER = DataClass(
    "trigger",
    "A rule met for a victim or a problem: the SPOC's work list (review).",
    {
        "id": _NONE,
        "kind": _NONE,
        "state": _NONE,
        "person_id": _ID,
        "complaint_ids": _NONE,
        "detail": _NONE,
        "raised_at": _NONE,
        "explained_at": _NONE,
        "explained_by_agency_id": _NONE,
        "review_id": _NONE,
    },
    _CASE | {Relation.spoc, Relation.panel},
    events=("trigger.raised", "trigger.explained"),
)

PARTNER_UPDATE = DataClass(
    "partner_update",
    "What a partner did about a case (sharing).",
    {
        "id": _NONE,
        "case_reference": _NONE,
        "agency_id": _NONE,
        "action": _NONE,
        "note": _TEXT,
        "outcome": _NONE,
        "next_step": _TEXT,
        "due_on": _NONE,
        "recorded_at": _NONE,
    },
    _CASE | {Relation.perpetrator_landlord, Relation.spoc, Relation.panel},
    events=("partner_update.recorded",),
)

CATALOGUE: dict[str, DataClass] = {
    c.name: c for c in (COMPLAINT, PERSON, RISK, REVIEW, TRIGGER, PARTNER_UPDATE)
}


def data_class_of_event(event_name: str) -> DataClass | None:
    """The class whose fields an event carries (`complaint.logged` -> complaint)."""
    for data_class in CATALOGUE.values():
        if event_name in data_class.events:
            return data_class
    return None


def postcode_district(postcode: str | None) -> str | None:
    """The outward code of a normalised UK postcode (`SW1A 1AA` -> `SW1A`): an area of
    thousands of addresses, shareable where the full postcode is not."""
    if not postcode:
        return None
    return postcode.split(" ", 1)[0]
