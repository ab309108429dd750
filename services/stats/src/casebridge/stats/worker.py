"""Stats worker: counts intake's events."""

from __future__ import annotations

from casebridge.common import worker
from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.events.consumer import Consumer
from casebridge.stats import handlers
from casebridge.stats.settings import Settings


def consumers(settings: Settings) -> list[Consumer]:
    return [
        Consumer(
            name="stats-intake",
            stream="INTAKE",
            subjects=["intake.*.complaint.logged.v1"],
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
