"""Review's routers, one module per aggregate."""

from casebridge.review.routes import applicant, audit, config, reviews, triggers

routers = [config.router, triggers.router, applicant.router, reviews.router, audit.router]
