"""Sharing worker: relays sharing's outbox (registry announcements, protocol versions,
invitations, disclosures, partner deliveries), shares every event that matters to the
partners (offers.OFFERS: complaints, consent, overrides, incident links, risk,
vulnerability, triggers, case review steps, partner updates) under the area's protocol,
keeps each area's SPOC and panel as review announces them (review data is decided on
them), posts deliveries to partners' webhooks, and keeps nats-server's authorization in
step with the registry."""

from __future__ import annotations

from casebridge.common import worker
from casebridge.common.events.consumer import Consumer, consumer_of
from casebridge.common.events.streams import stream_for_subject
from casebridge.common.worker import PeriodicJob
from casebridge.sharing import handlers, nats_auth, webhooks
from casebridge.sharing.deliveries import DECIDED_ON
from casebridge.sharing.offers import OFFERS
from casebridge.sharing.settings import Settings

# One durable consumer per source stream (in stream order: a complaint is indexed before
# the events that follow it are decided on its basis).
DURABLES = {
    "intake": "sharing-complaints",
    "review": "sharing-reviews",
    "sharing": "sharing-partner-updates",
}


def consumers(settings: Settings) -> list[Consumer]:
    """One durable consumer per source stream, on exactly the subjects of the offered
    events and of those they are decided on (review's procedure changes, in order with the
    review events)."""
    return [
        consumer_of(
            name,
            stream_for_subject(f"{source}.any"),
            {c: handlers.on_shareable for c in (*OFFERS, *DECIDED_ON) if c.source == source},
            max_deliver=settings.consumer_max_deliver,
            ack_wait=settings.consumer_ack_wait_seconds,
            apply_batch=handlers.on_shareable_batch,
        )
        for source, name in DURABLES.items()
    ]


def jobs(settings: Settings) -> list[PeriodicJob]:
    """The webhook dispatcher; and NATS authorization following the registry, where this
    worker is told to write it."""
    dispatcher: PeriodicJob = webhooks.dispatcher(settings)
    path, services = settings.nats_authorization_file, settings.nats_service_logins_file
    if path is None or services is None:
        return [dispatcher]
    job: PeriodicJob = nats_auth.keep_authorization(
        path=path,
        services_file=services,
        pid_file=settings.nats_server_pid_file,
        interval=settings.nats_authorization_interval_seconds,
    )
    return [dispatcher, job]


def main() -> None:
    settings = Settings()
    worker.main(settings, consumers(settings), jobs(settings))


if __name__ == "__main__":
    main()
