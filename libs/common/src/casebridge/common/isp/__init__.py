"""The information-sharing protocol (ISP): one document per area, one decision everywhere.

- catalogue: the data classes, their fields and tags, the relations to a record;
- document: the versioned YAML document and its strict validation;
- decide: the decision (`decide`, `Viewer`), the same for reads and deliveries.
"""

from casebridge.common.isp.catalogue import CATALOGUE, Condition, Relation, Tag
from casebridge.common.isp.decide import (
    Basis,
    Decision,
    Grant,
    Policy,
    Recipient,
    Viewer,
    decide,
    relations_of,
)
from casebridge.common.isp.document import InvalidProtocol, Problem, Protocol, parse

__all__ = [
    "CATALOGUE",
    "Basis",
    "Condition",
    "Decision",
    "Grant",
    "InvalidProtocol",
    "Policy",
    "Problem",
    "Protocol",
    "Recipient",
    "Relation",
    "Tag",
    "Viewer",
    "decide",
    "parse",
    "relations_of",
]
