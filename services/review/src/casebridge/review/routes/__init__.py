"""Review's routers, one module per aggregate."""

from casebridge.review.routes import config

routers = [config.router]
