from casebridge.common.isp.models import REVOCATIONS
from casebridge.common.migrations import run_migrations
from casebridge.stats import models
from casebridge.stats.settings import Settings

run_migrations(models.Base.metadata, Settings().database_url, shared=[REVOCATIONS])
