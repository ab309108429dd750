"""The AsyncAPI 3.0 document of every subject and contract, generated from the contracts.

    uv run python -m casebridge.common.asyncapi > docs/asyncapi.json

A test fails when the committed document differs from what the contracts generate.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from casebridge.common import contracts
from casebridge.common.events.envelope import Contract, Envelope, registered
from casebridge.common.events.streams import STREAMS, stream_for_subject


def _channel_id(contract: type[Contract]) -> str:
    return contract.event_type().replace(".", "_")


def _message(contract: type[Contract]) -> dict[str, Any]:
    envelope = Envelope.model_json_schema()
    envelope["properties"]["data"] = {"$ref": f"#/components/schemas/{contract.__name__}"}
    envelope["properties"]["type"] = {"const": contract.event_type()}
    envelope.pop("title", None)
    return {
        "name": contract.event_type(),
        "title": contract.__name__,
        "summary": (contract.__doc__ or "").strip().splitlines()[0] if contract.__doc__ else "",
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "properties": {"Nats-Msg-Id": {"type": "string", "description": "= envelope id"}},
        },
        "payload": envelope,
    }


def document() -> dict[str, Any]:
    assert contracts.__all__  # importing the package registers every contract
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for event_type, contract in sorted(registered().items()):
        cid = _channel_id(contract)
        address = contract.subject_for("{area_id}")
        schema = contract.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[contract.__name__] = schema
        messages[cid] = _message(contract)
        channels[cid] = {
            "address": address,
            "description": f"Stream {stream_for_subject(address)}. Producer: {contract.source}.",
            "parameters": {"area_id": {"description": "the Community Safety Partnership"}},
            "messages": {cid: {"$ref": f"#/components/messages/{cid}"}},
        }
        operations[f"publish_{cid}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{cid}"},
            "summary": f"{contract.source} publishes {event_type} through its outbox relay",
        }
    channels["partner_delivery"] = {
        "address": "share.{area_id}.{agency_id}.{event}",
        "description": (
            "Stream SHARE. What one partner agency may see of an event, filtered by the "
            "information-sharing rule; `data` holds only the fields disclosed to it and the "
            "`disclosure_id` of the audit record. Partners subscribe to their own prefix."
        ),
        "parameters": {
            "area_id": {"description": "the Community Safety Partnership"},
            "agency_id": {"description": "the receiving partner agency"},
            "event": {"description": "the source event's name and version"},
        },
        "messages": {"partner_delivery": {"$ref": "#/components/messages/partner_delivery"}},
    }
    operations["publish_partner_delivery"] = {
        "action": "send",
        "channel": {"$ref": "#/channels/partner_delivery"},
        "summary": "sharing delivers a filtered copy to each partner through its outbox relay",
    }
    delivery = Envelope.model_json_schema()
    delivery.pop("title", None)
    messages["partner_delivery"] = {
        "name": "sharing.delivery",
        "contentType": "application/json",
        "payload": delivery,
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Casebridge events",
            "version": "1.0.0",
            "description": (
                "CloudEvents 1.0 envelopes on NATS JetStream. Streams: "
                + ", ".join(f"{name} ({', '.join(subjects)})" for name, subjects in STREAMS.items())
                + ". Contracts are additive-only; a breaking change is a new version suffix."
            ),
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
