"""JetStream streams, declared once and ensured on every (re)connect (NATS-R1)."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

DUPLICATE_WINDOW_SECONDS = 120.0

STREAMS: dict[str, list[str]] = {
    "INTAKE": ["intake.>"],
    "SHARING": ["sharing.>"],
    "REVIEW": ["review.>"],
    "SHARE": ["share.>"],
    # The partner registry and the information-sharing protocol: every service's replica is
    # built from it, so a new replica must be able to read it from the start. Kept forever.
    "REGISTRY": ["registry.>"],
}
MAX_AGE_SECONDS: dict[str, float] = {"REGISTRY": 0.0}  # 0: no limit
DEFAULT_MAX_AGE_SECONDS = 90 * 24 * 3600.0


def stream_config(name: str, *, replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=name,
        subjects=STREAMS[name],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=replicas,
        max_age=MAX_AGE_SECONDS.get(name, DEFAULT_MAX_AGE_SECONDS),
    )


def stream_for_subject(subject: str) -> str:
    prefix = subject.split(".", 1)[0]
    for name, subjects in STREAMS.items():
        if subjects[0].split(".", 1)[0] == prefix:
            return name
    raise ValueError(f"no stream for subject {subject!r}")


async def ensure_streams(js: JetStreamContext, *, replicas: int = 1) -> None:
    """Create or update every stream; safe to call concurrently and repeatedly."""
    for name in STREAMS:
        config = stream_config(name, replicas=replicas)
        try:
            await js.stream_info(name)
            await js.update_stream(config)
        except NotFoundError:
            try:
                await js.add_stream(config)
            except BadRequestError:
                await js.update_stream(config)  # created concurrently by another process
