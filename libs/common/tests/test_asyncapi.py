from __future__ import annotations

from pathlib import Path

from casebridge.common.asyncapi import document, render
from casebridge.common.events.envelope import registered

DOC = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.json"


def test_committed_asyncapi_matches_the_contracts() -> None:
    """Regenerate with `uv run python -m casebridge.common.asyncapi > docs/asyncapi.json`."""
    assert DOC.read_text() == render()


def test_every_contract_has_a_channel_on_its_stream() -> None:
    channels = document()["channels"]
    for event_type, contract in registered().items():
        channel = channels[event_type.replace(".", "_")]
        assert channel["address"] == contract.subject_for("{area_id}")
        assert channel["address"].startswith(contract.source + ".")
