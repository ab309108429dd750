"""Intake worker: relays intake's outbox to the INTAKE stream."""

from __future__ import annotations

from casebridge.common import worker
from casebridge.common.events.consumer import Consumer
from casebridge.intake.settings import Settings


def consumers(settings: Settings) -> list[Consumer]:
    return []


def main() -> None:
    settings = Settings()
    worker.main(settings, consumers(settings))


if __name__ == "__main__":
    main()
