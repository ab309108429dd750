from casebridge.common.isp.models import ReplicaBase
from casebridge.common.migrations import run_migrations
from casebridge.review import models
from casebridge.review.settings import Settings

run_migrations(models.Base.metadata, Settings().database_url, shared=[ReplicaBase.metadata])
