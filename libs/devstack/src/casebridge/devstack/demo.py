"""The demo area that `make run` seeds: fixed ids so every service's seed agrees."""

from __future__ import annotations

from uuid import UUID

DEMO_AREA_ID = UUID("0192f0a0-0000-7000-8000-00000000a001")
DEMO_AREA_CODE = "DMO"
DEMO_AREA_NAME = "Demo Community Safety Partnership"

DEMO_AGENCIES: dict[str, tuple[UUID, str]] = {
    "council": (UUID("0192f0a0-0000-7000-8000-00000000c001"), "Demo District Council"),
    "police": (UUID("0192f0a0-0000-7000-8000-00000000b001"), "Demo Constabulary"),
    "housing": (UUID("0192f0a0-0000-7000-8000-00000000d001"), "Demo Homes Housing Association"),
}
