"""Letters to the applicant, rendered from the area's Jinja2 templates (HTML, autoescaped)."""

from __future__ import annotations

LETTER_KINDS = ("acknowledgement", "threshold_decision", "outcome", "closure")
