"""Stats worker: counts what intake, review and sharing announce. Subjects are derived from
the contracts; one durable consumer per stream."""

from __future__ import annotations

from collections.abc import Mapping

from casebridge.common import worker
from casebridge.common.contracts.intake import (
    ComplaintLogged,
    PersonVulnerabilityChanged,
    RepeatVictimMarked,
    RiskAssessed,
)
from casebridge.common.contracts.review import (
    DeadlineMissed,
    RecommendationsMade,
    ReviewApplied,
    ReviewTransitioned,
    ThresholdDecided,
    TriggerExplained,
    TriggerRaised,
)
from casebridge.common.contracts.sharing import (
    ClientRevoked,
    DisclosureRecorded,
    DisclosuresRecorded,
    PartnerUpdateRecorded,
)
from casebridge.common.events.consumer import Consumer, Handler, consumer_of
from casebridge.common.events.envelope import Contract
from casebridge.common.isp.replica import on_client_revoked
from casebridge.stats import handlers
from casebridge.stats.settings import Settings

# stream -> (durable consumer name, {contract: handler}); the first is intake's.
CONSUMED: dict[str, tuple[str, Mapping[type[Contract], Handler]]] = {
    "INTAKE": (
        "stats-intake",
        {
            ComplaintLogged: handlers.on_counted,
            RiskAssessed: handlers.on_counted,
            RepeatVictimMarked: handlers.on_counted,
            PersonVulnerabilityChanged: handlers.on_counted,
        },
    ),
    "REVIEW": (
        "stats-review",
        {
            ReviewApplied: handlers.on_review_applied,
            ReviewTransitioned: handlers.on_review_transitioned,
            ThresholdDecided: handlers.on_threshold_decided,
            RecommendationsMade: handlers.on_recommendations_made,
            DeadlineMissed: handlers.on_deadline_missed,
            TriggerRaised: handlers.on_trigger_raised,
            TriggerExplained: handlers.on_trigger_explained,
        },
    ),
    "SHARING": (
        "stats-sharing",
        {
            DisclosureRecorded: handlers.on_counted,
            DisclosuresRecorded: handlers.on_counted,
            PartnerUpdateRecorded: handlers.on_counted,
        },
    ),
    # Only the revocations of the registry: a revoked client's tokens stop working here too.
    "REGISTRY": ("stats-registry", {ClientRevoked: on_client_revoked}),
}


def consumers(settings: Settings) -> list[Consumer]:
    """One durable consumer per stream, on exactly the subjects of the contracts it counts;
    a batch's counts are added once per table. Dead letters keep no payload: stats holds no
    personal data (LEG-R8)."""
    return [
        consumer_of(
            name,
            stream,
            handled,
            max_deliver=settings.consumer_max_deliver,
            ack_wait=settings.consumer_ack_wait_seconds,
            keep_payloads=False,
            apply_batch=handlers.batch_of(handled),
        )
        for stream, (name, handled) in CONSUMED.items()
    ]


def main() -> None:
    settings = Settings()
    worker.main(settings, consumers(settings))


if __name__ == "__main__":
    main()
