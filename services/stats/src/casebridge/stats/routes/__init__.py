from casebridge.stats.routes.analysts import router as analysts
from casebridge.stats.routes.public import router as public

__all__ = ["analysts", "public"]
