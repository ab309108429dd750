"""Sharing worker: relays sharing's outbox (registry announcements, protocol versions,
invitations, disclosures, partner deliveries), shares every complaint intake logs under
the area's protocol, and indexes the case reviews review receives."""

from __future__ import annotations

from casebridge.common import worker
from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.contracts.review import ReviewApplied
from casebridge.common.events.consumer import Consumer, Handler, consumer_of
from casebridge.common.events.envelope import Contract
from casebridge.sharing import handlers
from casebridge.sharing.settings import Settings


def consumers(settings: Settings) -> list[Consumer]:
    def consumer(name: str, stream: str, contract: type[Contract], handler: Handler) -> Consumer:
        return consumer_of(
            name,
            stream,
            {contract: handler},
            max_deliver=settings.consumer_max_deliver,
            ack_wait=settings.consumer_ack_wait_seconds,
        )

    return [
        consumer("sharing-complaints", "INTAKE", ComplaintLogged, handlers.on_complaint_logged),
        consumer("sharing-reviews", "REVIEW", ReviewApplied, handlers.on_review_applied),
    ]


def main() -> None:
    settings = Settings()
    worker.main(settings, consumers(settings))


if __name__ == "__main__":
    main()
