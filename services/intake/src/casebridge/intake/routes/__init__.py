"""Intake's REST routes (bearer tokens) and Open311 (api_key)."""

from __future__ import annotations

from casebridge.intake.open311 import routes as open311

from . import audit, complaints, people, risk

# Included into the app one by one, not through a router of routers: every level of
# inclusion is another round of route matching on every request.
routers = [complaints.router, risk.router, people.router, open311.router, audit.router]
