"""The services a reporting app may report: the ASB types, with their attributes."""

from __future__ import annotations

from typing import Any

from casebridge.intake.schemas.complaints import AsbType

NAMES: dict[AsbType, str] = {
    AsbType.vehicle_abandoned: "Abandoned vehicle",
    AsbType.vehicle_nuisance: "Vehicle nuisance or inappropriate use",
    AsbType.rowdy_behaviour: "Rowdy or inconsiderate behaviour",
    AsbType.rowdy_neighbours: "Rowdy or nuisance neighbours",
    AsbType.littering_drugs: "Littering or drug paraphernalia",
    AsbType.animal_problems: "Animal problems",
    AsbType.trespass: "Trespass",
    AsbType.nuisance_communications: "Malicious or nuisance communications",
    AsbType.street_drinking: "Street drinking",
    AsbType.prostitution: "Prostitution-related activity",
    AsbType.noise: "Noise",
    AsbType.begging: "Begging or vagrancy",
    AsbType.fireworks: "Fireworks",
    AsbType.other: "Other anti-social behaviour",
}

# The NSIR qualifier a report gets when the reporter does not say.
DEFAULT_NSIR: dict[AsbType, str] = {
    AsbType.rowdy_neighbours: "personal",
    AsbType.nuisance_communications: "personal",
    AsbType.littering_drugs: "environmental",
    AsbType.vehicle_abandoned: "environmental",
}

ATTRIBUTES: list[dict[str, Any]] = [
    {
        "variable": True,
        "code": "occurred_at",
        "datatype": "datetime",
        "required": False,
        "datatype_description": "ISO 8601 with a time zone; not after now",
        "order": 1,
        "description": "When did it happen?",
        "values": [],
    },
    {
        "variable": True,
        "code": "targeted",
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": None,
        "order": 2,
        "description": "Is it aimed at you or your household personally?",
        "values": [{"key": "yes", "name": "Yes"}, {"key": "no", "name": "No"}],
    },
    {
        "variable": True,
        "code": "hate_motivated",
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": None,
        "order": 3,
        "description": "Do you think it is because of who you are (race, religion, "
        "disability, sexual orientation, transgender identity)?",
        "values": [{"key": "yes", "name": "Yes"}, {"key": "no", "name": "No"}],
    },
    {
        "variable": True,
        "code": "consent_to_share",
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": None,
        "order": 4,
        "description": "May we share your report with the police and your housing provider?",
        "values": [{"key": "given", "name": "Yes"}, {"key": "refused", "name": "No"}],
    },
]


def service_list() -> list[dict[str, Any]]:
    return [
        {
            "service_code": code.value,
            "service_name": name,
            "description": f"Report {name.lower()}",
            "metadata": True,
            "type": "realtime",
            "keywords": "anti-social behaviour",
            "group": "Anti-social behaviour",
        }
        for code, name in NAMES.items()
    ]


def definition(code: str) -> dict[str, Any] | None:
    if code not in AsbType.__members__:
        return None
    return {"service_code": code, "attributes": {"attribute": ATTRIBUTES}}


def definition_json(code: str) -> dict[str, Any] | None:
    found = definition(code)
    return None if found is None else {"service_code": code, "attributes": ATTRIBUTES}
