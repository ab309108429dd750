"""Sharing worker: relays sharing's outbox (disclosures, partner deliveries) and applies the
sharing rule to every complaint intake logs."""

from __future__ import annotations

from casebridge.common import worker
from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.events.consumer import Consumer
from casebridge.sharing import handlers
from casebridge.sharing.settings import Settings


def consumers(settings: Settings) -> list[Consumer]:
    return [
        Consumer(
            name="sharing-complaints",
            stream="INTAKE",
            subjects=[f"intake.*.{ComplaintLogged.name}.v{ComplaintLogged.version}"],
            handlers={ComplaintLogged.event_type(): handlers.on_complaint_logged},
            max_deliver=settings.consumer_max_deliver,
            ack_wait=settings.consumer_ack_wait_seconds,
        )
    ]


def main() -> None:
    settings = Settings()
    worker.main(settings, consumers(settings))


if __name__ == "__main__":
    main()
