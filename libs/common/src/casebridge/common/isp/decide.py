"""The one information-sharing decision: what an agency may see of one record.

Every read route of every service and every partner delivery asks `decide`; nothing else
decides who sees what. Default deny: a field no rule grants is not shown. The recorder of a
record (the agency that took the complaint, received the application) sees it all: it is
its own record. A perpetrator's landlord never gets complainant identity from a rule that
does not name it (the mandatory rule, LEG-R2), whatever else it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from casebridge.common.auth import Principal
from casebridge.common.isp.catalogue import CATALOGUE, Condition, Relation, Tag
from casebridge.common.isp.document import Protocol, Rule

REFUSED = frozenset({"refused", "withdrawn"})


@dataclass(frozen=True)
class Recipient:
    """The agency asking (or receiving), as the partner registry knows it."""

    agency_id: UUID
    area_id: UUID
    kind: str
    core_partner: bool = False
    active: bool = True


@dataclass(frozen=True)
class Basis:
    """What one record says about sharing it: the victim's consent, recorded overrides."""

    consent: str = "not_asked"
    override_purposes: frozenset[str] = frozenset()

    def holds(self, condition: Condition, purpose: str) -> bool:
        override = purpose in self.override_purposes
        match condition:
            case Condition.always:
                return True
            case Condition.unless_refused:
                return self.consent not in REFUSED or override
            case Condition.consent:
                return self.consent == "given"
            case Condition.consent_or_override:
                return self.consent == "given" or override
            case Condition.override:
                return override


@dataclass(frozen=True)
class Decision:
    """Fields shown with their values, fields shown as withheld, and on what grounds."""

    data_class: str
    fields: frozenset[str] = frozenset()
    redacted: frozenset[str] = frozenset()
    purposes: tuple[str, ...] = ()
    protocol_version: int | None = None
    whole: bool = False  # the recorder's own record
    reason: str | None = None

    @property
    def visible(self) -> bool:
        return self.whole or bool(self.fields) or bool(self.redacted)

    def shows(self, name: str) -> bool:
        return self.whole or name in self.fields

    def project(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The values this decision lets through: granted ones as they are, redacted ones as
        None (the caller says which were withheld), nothing else."""
        if self.whole:
            return dict(values)
        shown = {k: v for k, v in values.items() if k in self.fields}
        shown.update({k: None for k in values if k in self.redacted})
        return shown


@dataclass(frozen=True)
class Grant:
    """A rule as it applies to one recipient: for SQL filters that must agree with `decide`."""

    relations: frozenset[Relation]
    condition: Condition
    purpose: str
    # The rule grants something other than complainant identity (which the mandatory rule
    # may strip for a perpetrator's landlord).
    beyond_identity: bool
    names_landlord: bool
    # The fields it shows with their values (a search may match on these only).
    allowed: frozenset[str] = frozenset()
    identity: frozenset[str] = frozenset()

    def shows(self, name: str, *, landlord: bool) -> bool:
        """Whether this grant shows `name`'s value to a recipient who is (or is not) the
        perpetrator's landlord of the record."""
        if name not in self.allowed:
            return False
        return not (landlord and name in self.identity and not self.names_landlord)


@dataclass(frozen=True)
class Policy:
    """One area's protocol version, as code reads it."""

    version: int
    protocol: Protocol
    area_id: UUID

    def in_force(self, today: date) -> bool:
        return today <= self.protocol.review_date

    def rules_for(self, data_class: str, recipient: Recipient) -> list[Rule]:
        return [r for r in self.protocol.rules if r.data == data_class and _reaches(r, recipient)]


def _reaches(rule: Rule, recipient: Recipient) -> bool:
    if rule.kinds is not None and recipient.kind not in rule.kinds:
        return False
    return rule.agencies is None or recipient.agency_id in rule.agencies


def relations_of(recipient: Recipient, **facts: bool) -> frozenset[Relation]:
    """The relations a recipient has to a record: the registry's (core partner, partner of
    the area) plus the record's own facts (recorder=..., invited=..., ...)."""
    found = {Relation(name) for name, holds in facts.items() if holds}
    if recipient.active:
        found.add(Relation.area_partner)
        if recipient.core_partner:
            found.add(Relation.core_partner)
    return frozenset(found)


def decide(
    policy: Policy | None,
    data_class: str,
    recipient: Recipient,
    relations: Iterable[Relation],
    basis: Basis,
    *,
    today: date,
) -> Decision:
    """What `recipient`, standing in `relations` to a record of `data_class` with `basis`,
    may see of it under `policy` (None: no protocol published, so only the recorder)."""
    klass = CATALOGUE[data_class]
    relations = frozenset(relations)
    version = policy.version if policy else None
    if Relation.recorder in relations and klass.recorder_sees_all:
        return Decision(data_class, whole=True, protocol_version=version)
    if policy is None or policy.area_id != recipient.area_id:
        return Decision(data_class, reason="no information-sharing protocol applies")
    if not policy.in_force(today):
        return Decision(
            data_class, protocol_version=version, reason="the protocol is past its review date"
        )
    landlord = Relation.perpetrator_landlord in relations
    identity = klass.tagged(Tag.identity)
    allowed: set[str] = set()
    redacted: set[str] = set()
    purposes: list[str] = []
    for rule in policy.rules_for(data_class, recipient):
        if not relations & set(rule.to) or not basis.holds(rule.when, rule.purpose):
            continue
        granted = set(rule.allow)
        if landlord and Relation.perpetrator_landlord not in rule.to:
            granted -= identity  # the mandatory rule: never from a rule not naming the landlord
        granted, withheld = _conditions_met(policy, rule, granted)
        if not granted and not (set(rule.redact) | withheld):
            continue
        allowed |= granted
        redacted |= set(rule.redact) | withheld
        if rule.purpose not in purposes:
            purposes.append(rule.purpose)
    redacted -= allowed
    if not allowed and not redacted:
        return Decision(data_class, protocol_version=version, reason="no rule grants anything")
    return Decision(data_class, frozenset(allowed), frozenset(redacted), tuple(purposes), version)


def _conditions_met(policy: Policy, rule: Rule, granted: set[str]) -> tuple[set[str], set[str]]:
    """Special-category and criminal-offence fields flow only where the rule's purpose has
    its recorded condition (LEG-R5); otherwise they are withheld, not shown."""
    purpose = policy.protocol.purposes[rule.purpose]
    fields = CATALOGUE[rule.data].fields
    withheld = set()
    for name in granted:
        tags = fields[name]
        if Tag.special_category in tags and not purpose.special_category_condition:
            withheld.add(name)
        if Tag.criminal_offence in tags and not purpose.criminal_offence_condition:
            withheld.add(name)
    return granted - withheld, withheld


def grants(
    policy: Policy | None, data_class: str, recipient: Recipient, *, today: date
) -> list[Grant]:
    """The rules that may show a record of `data_class` to `recipient`, for a SQL filter
    that keeps exactly the records `decide` would show something of."""
    if policy is None or policy.area_id != recipient.area_id or not policy.in_force(today):
        return []
    identity = CATALOGUE[data_class].tagged(Tag.identity)
    found = []
    for rule in policy.rules_for(data_class, recipient):
        shown = set(rule.allow) | set(rule.redact)
        if not shown:
            continue
        found.append(
            Grant(
                relations=frozenset(rule.to),
                condition=rule.when,
                purpose=rule.purpose,
                beyond_identity=bool(shown - identity) or bool(rule.redact),
                names_landlord=Relation.perpetrator_landlord in rule.to,
                allowed=frozenset(rule.allow),
                identity=identity,
            )
        )
    return found


@dataclass
class Viewer:
    """A recipient and its area's policy for the length of one request or one event: the
    decisions of a list's rows are mostly the same few, so they are remembered."""

    recipient: Recipient
    policy: Policy | None
    today: date
    principal: Principal | None = None
    _seen: dict[tuple[str, frozenset[Relation], Basis], Decision] = field(default_factory=dict)

    @property
    def protocol_version(self) -> int | None:
        return self.policy.version if self.policy else None

    def decide(self, data_class: str, relations: frozenset[Relation], basis: Basis) -> Decision:
        key = (data_class, relations, basis)
        found = self._seen.get(key)
        if found is None:
            found = decide(
                self.policy, data_class, self.recipient, relations, basis, today=self.today
            )
            self._seen[key] = found
        return found

    def grants(self, data_class: str) -> list[Grant]:
        return grants(self.policy, data_class, self.recipient, today=self.today)
