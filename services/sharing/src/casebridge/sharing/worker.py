"""Sharing worker: relays sharing's outbox (registry announcements, protocol versions,
invitations, disclosures, partner deliveries), shares every complaint intake logs and every
partner update under the area's protocol, indexes the case reviews review receives, and
posts deliveries to partners' webhooks."""

from __future__ import annotations

from casebridge.common import worker
from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.contracts.review import ReviewApplied
from casebridge.common.contracts.sharing import PartnerUpdateRecorded
from casebridge.common.events.consumer import Consumer, Handler
from casebridge.common.events.envelope import Contract
from casebridge.sharing import handlers, webhooks
from casebridge.sharing.settings import Settings


def consumers(settings: Settings) -> list[Consumer]:
    def consumer(name: str, stream: str, contract: type[Contract], handler: Handler) -> Consumer:
        return Consumer(
            name=name,
            stream=stream,
            subjects=[f"{contract.source}.*.{contract.name}.v{contract.version}"],
            handlers={contract.event_type(): handler},
            max_deliver=settings.consumer_max_deliver,
            ack_wait=settings.consumer_ack_wait_seconds,
        )

    return [
        consumer("sharing-complaints", "INTAKE", ComplaintLogged, handlers.on_complaint_logged),
        consumer("sharing-reviews", "REVIEW", ReviewApplied, handlers.on_review_applied),
        consumer(
            "sharing-partner-updates",
            "SHARING",
            PartnerUpdateRecorded,
            handlers.on_partner_update_recorded,
        ),
    ]


def main() -> None:
    settings = Settings()
    worker.main(settings, consumers(settings), jobs=[webhooks.dispatcher(settings)])


if __name__ == "__main__":
    main()
