from casebridge.common.migrations import run_migrations
from casebridge.sharing import models
from casebridge.sharing.settings import Settings

run_migrations(models.Base.metadata, Settings().owner_database_url)
