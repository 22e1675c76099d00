"""Every table, imported in one place so that Alembic sees the whole schema."""

from aetherflow_gateway.auth.models import User
from aetherflow_gateway.dashboards.models import Insight
from aetherflow_gateway.datasets.models import Dataset, UploadKey
from aetherflow_gateway.db.base import Base
from aetherflow_gateway.jobs.models import Job
from aetherflow_gateway.outbox.models import OutboxMessage

__all__ = ["Base", "Dataset", "Insight", "Job", "OutboxMessage", "UploadKey", "User"]
