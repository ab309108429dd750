"""Review's routers, one module per aggregate."""

from casebridge.review.routes import audit, config, reviews, triggers

routers = [config.router, triggers.router, reviews.router, audit.router]
