"""The information-sharing protocol as a document: one version per area, written by the
partnership, signed off by its data protection officers, validated strictly.

Loading refuses a document with the path and the reason of every problem at once, so a DPO
fixes them in one go. A valid document is immutable; a new version replaces it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any, Literal
from uuid import UUID

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from casebridge.common.isp.catalogue import (
    AGENCY_KINDS,
    CATALOGUE,
    LANDLORD_IDENTITY_PURPOSES,
    Condition,
    Relation,
    Tag,
)

FORMAT = "casebridge-isp/1"
MAX_DOCUMENT_BYTES = 200_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=2_000)


class Signatory(_Strict):
    agency: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=200)


class Purpose(_Strict):
    """Why data is shared, and under which law."""

    description: str = Field(min_length=1)
    legal_basis: str = Field(min_length=1, description="e.g. UK GDPR Art 6(1)(e); DPA 2018 s35")
    gateway: str = Field(min_length=1, description="e.g. Crime and Disorder Act 1998 s115")
    # A recorded Art 9 / Sch 1 (or Part 3 sensitive processing) condition: without it,
    # special-category fields are redacted under this purpose whatever the rules say.
    special_category_condition: str | None = None
    criminal_offence_condition: str | None = None


class Rule(_Strict):
    """A grant: these fields of one class, to agencies standing in one of these relations
    (optionally only of these kinds, or only these agencies), when the condition holds."""

    data: str
    purpose: str
    to: list[Relation] = Field(min_length=1)
    kinds: list[str] | None = None
    agencies: list[UUID] | None = None
    when: Condition = Condition.always
    allow: list[str] = Field(default_factory=list)
    redact: list[str] = Field(default_factory=list)
    cleared_free_text: str | None = Field(
        default=None, description="why free text is cleared to flow under this rule"
    )
    note: str | None = None


class Protocol(_Strict):
    format: Literal["casebridge-isp/1"]
    title: str = Field(min_length=1, max_length=300)
    review_date: date = Field(description="after this date nothing is shared (LEG-R1)")
    signed_off_by: list[Signatory] = Field(min_length=1)
    purposes: dict[str, Purpose] = Field(min_length=1)
    retention_months: dict[str, int] = Field(description="per data class")
    rules: list[Rule]


class Problem(BaseModel):
    path: str
    problem: str


class InvalidProtocol(ValueError):
    """A document that cannot be used; `problems` lists every one with its path."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.problem}" for p in problems))
        self.problems = problems


def parse(text: str | bytes) -> Protocol:
    """A YAML (or JSON) document to a validated protocol, or InvalidProtocol."""
    if len(text) > MAX_DOCUMENT_BYTES:
        raise InvalidProtocol([Problem(path="", problem="document larger than 200 kB")])
    try:
        _refuse_aliases(text)
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidProtocol([Problem(path="", problem=f"not YAML: {exc}")]) from exc
    return validate(loaded)


def _refuse_aliases(text: str | bytes) -> None:
    """An alias re-uses a node: a few kilobytes of nested aliases make a document whose
    validation walks billions of values. A protocol writes each value out."""
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise yaml.YAMLError("aliases (*name) are not allowed: write each value out")


def validate(loaded: Any) -> Protocol:
    """The document as a Protocol, or InvalidProtocol with every problem at once: those of
    its shape, and the rules' own (of every rule that has a shape to check)."""
    if not isinstance(loaded, dict):
        raise InvalidProtocol([Problem(path="", problem="the document must be a mapping")])
    unstorable = list(_unstorable(loaded, ""))
    if unstorable:  # nothing else is checked in text that cannot be kept
        raise InvalidProtocol(unstorable)
    protocol: Protocol | None = None
    problems: list[Problem] = []
    try:
        protocol = Protocol.model_validate(loaded)
    except ValidationError as exc:
        problems += _shape_problems(exc)
    purposes, retention, rules = _parts(protocol, loaded)
    if retention is not None:  # else its shape problems say what is wrong with it
        problems += _retention_problems(retention, rules)
    for i, rule in rules:
        problems += [
            Problem(path=f"rules.{i}.{p}", problem=m) for p, m in _rule_problems(purposes, rule)
        ]
    if problems or protocol is None:
        raise InvalidProtocol(problems)
    return protocol


_SURROGATE = re.compile("[\ud800-\udfff]")


def _unstorable(value: Any, path: str) -> Iterator[Problem]:
    """Text PostgreSQL cannot keep (a NUL, a lone surrogate from JSON's "\\ud800"), anywhere
    in the document, keys included."""
    if isinstance(value, str):
        if "\x00" in value or _SURROGATE.search(value):
            yield Problem(path=path, problem="must not contain NUL characters or lone surrogates")
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            yield from _unstorable(key, inner)
            yield from _unstorable(item, inner)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _unstorable(item, f"{path}.{i}" if path else str(i))


def _shape_problems(exc: ValidationError, prefix: str = "") -> list[Problem]:
    return [
        Problem(path=prefix + ".".join(str(p) for p in e["loc"]), problem=e["msg"])
        for e in exc.errors()
    ]


def _parts(
    protocol: Protocol | None, loaded: dict[str, Any]
) -> tuple[set[str], dict[str, int] | None, list[tuple[int, Rule]]]:
    """Purposes, retention and the rules to check: the protocol's, or, when its shape is
    wrong, whatever parts of it are well-formed on their own (their own shape problems
    are reported already)."""
    if protocol is not None:
        return set(protocol.purposes), protocol.retention_months, list(enumerate(protocol.rules))
    purposes = loaded.get("purposes")
    retention = loaded.get("retention_months")
    rules: list[tuple[int, Rule]] = []
    raw_rules = loaded.get("rules")
    for i, raw in enumerate(raw_rules if isinstance(raw_rules, list) else []):
        try:
            rules.append((i, Rule.model_validate(raw)))
        except ValidationError:
            continue
    well_formed = isinstance(retention, dict) and all(
        isinstance(k, str) and type(v) is int for k, v in retention.items()
    )
    return (
        {k for k in purposes if isinstance(k, str)} if isinstance(purposes, dict) else set(),
        retention if well_formed else None,
        rules,
    )


def _retention_problems(retention: dict[str, int], rules: list[tuple[int, Rule]]) -> list[Problem]:
    problems = []
    for name, months in retention.items():
        if name not in CATALOGUE:
            problems.append(Problem(path=f"retention_months.{name}", problem="unknown data class"))
        elif not 1 <= months <= 1200:
            problems.append(
                Problem(path=f"retention_months.{name}", problem="must be 1 to 1200 months")
            )
    shared = {rule.data for _, rule in rules if rule.data in CATALOGUE}
    for name in sorted(shared - retention.keys()):
        problems.append(
            Problem(path="retention_months", problem=f"no retention for shared class {name}")
        )
    return problems


def _rule_problems(purposes: set[str], rule: Rule) -> list[tuple[str, str]]:
    """Every problem of one rule, as (path within the rule, reason)."""
    data_class = CATALOGUE.get(rule.data)
    if data_class is None:
        return [("data", f"unknown data class; known: {', '.join(sorted(CATALOGUE))}")]
    problems: list[tuple[str, str]] = []
    if rule.purpose not in purposes:
        problems.append(("purpose", "not one of the document's purposes"))
    for j, relation in enumerate(rule.to):
        if relation not in data_class.relations:
            problems.append((f"to.{j}", f"{relation} means nothing for {rule.data} records"))
    for j, kind in enumerate(rule.kinds or ()):
        if kind not in AGENCY_KINDS:
            problems.append(
                (f"kinds.{j}", f"unknown agency kind; known: {', '.join(AGENCY_KINDS)}")
            )
    if not rule.allow and not rule.redact:
        problems.append(("allow", "a rule must allow or redact at least one field"))
    for key in ("allow", "redact"):
        for j, name in enumerate(getattr(rule, key)):
            if name not in data_class.fields:
                problems.append((f"{key}.{j}", f"{rule.data} has no field {name!r}"))
    for name in sorted(set(rule.allow) & set(rule.redact)):
        problems.append(("redact", f"{name} is both allowed and redacted"))
    free_text = [f for f in rule.allow if Tag.free_text in data_class.fields.get(f, ())]
    if free_text and not rule.cleared_free_text:
        problems.append(
            ("allow", f"free text ({', '.join(free_text)}) flows only with cleared_free_text")
        )
    identity = [f for f in rule.allow if Tag.identity in data_class.fields.get(f, ())]
    if Relation.perpetrator_landlord in rule.to and identity:
        legal = rule.when == Condition.override and rule.purpose in LANDLORD_IDENTITY_PURPOSES
        if not legal:
            problems.append(
                (
                    "allow",
                    f"complainant identity ({', '.join(identity)}) never reaches the alleged "
                    "perpetrator's landlord except with when: override and a purpose of "
                    f"{' or '.join(sorted(LANDLORD_IDENTITY_PURPOSES))}",
                )
            )
    return problems


def to_yaml(protocol: Protocol) -> str:
    """The canonical text of a protocol (the diff between versions compares these)."""
    data = protocol.model_dump(mode="json", exclude_none=True)
    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))
