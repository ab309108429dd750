"""Review worker: relays review's outbox, consumes intake's events and the registry's (its
replicas of the partner registry and the information-sharing protocol), watches deadlines."""

from __future__ import annotations

from casebridge.common import worker
from casebridge.common.events.consumer import Consumer
from casebridge.common.isp.replica import registry_consumer
from casebridge.review.deadlines import deadline_watcher
from casebridge.review.handlers import intake_consumer
from casebridge.review.settings import Settings


def consumers(settings: Settings) -> list[Consumer]:
    return [
        intake_consumer(
            max_deliver=settings.consumer_max_deliver,
            ack_wait=settings.consumer_ack_wait_seconds,
        ),
        registry_consumer(
            "review",
            max_deliver=settings.consumer_max_deliver,
            ack_wait=settings.consumer_ack_wait_seconds,
        ),
    ]


def main() -> None:
    settings = Settings()
    jobs = [deadline_watcher(settings.deadline_check_interval_seconds)]
    worker.main(settings, consumers(settings), jobs=jobs)


if __name__ == "__main__":
    main()
