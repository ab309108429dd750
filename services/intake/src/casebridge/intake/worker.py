"""Intake worker: relays intake's outbox to the INTAKE stream, keeps intake's replicas of
the partner registry and the information-sharing protocol (from the REGISTRY stream), and
the case timeline's read model (review's triggers and steps, partners' updates)."""

from __future__ import annotations

from casebridge.common import worker
from casebridge.common.contracts.sharing import AreaRegistered
from casebridge.common.events.consumer import Consumer
from casebridge.common.isp.replica import registry_consumer
from casebridge.intake import handlers, timeline_events
from casebridge.intake.settings import Settings


def consumers(settings: Settings) -> list[Consumer]:
    return [
        registry_consumer(
            "intake",
            also={AreaRegistered: handlers.on_area_registered},
            max_deliver=settings.consumer_max_deliver,
            ack_wait=settings.consumer_ack_wait_seconds,
        ),
        *timeline_events.consumers(
            max_deliver=settings.consumer_max_deliver,
            ack_wait=settings.consumer_ack_wait_seconds,
        ),
    ]


def main() -> None:
    settings = Settings()
    worker.main(settings, consumers(settings))


if __name__ == "__main__":
    main()
