"""What the stats routes share: the caller, the date in Europe/London, the settings."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Request

from casebridge.common.auth import Principal, Scoped
from casebridge.stats.periods import today_in_london
from casebridge.stats.settings import Settings

CanReadStats = Annotated[Principal, Scoped("stats:read", role="analyst")]


def today() -> date:
    """Which periods are current (tests override this dependency)."""
    return today_in_london()


def settings(request: Request) -> Settings:
    configured: Settings = request.app.state.settings
    return configured


Today = Annotated[date, Depends(today)]
StatsSettings = Annotated[Settings, Depends(settings)]
