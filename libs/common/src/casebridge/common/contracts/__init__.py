"""Versioned event contracts, one module per producing service. Importing registers them."""

from casebridge.common.contracts import intake, review, sharing

__all__ = ["intake", "review", "sharing"]
