"""Every table, imported in one place so that Alembic sees the whole schema."""

from aetherflow_gateway.audit.models import AuditEvent
from aetherflow_gateway.auth.models import Invite, RefreshToken, User
from aetherflow_gateway.dashboards.models import Insight
from aetherflow_gateway.datasets.models import Dataset, PendingObject, UploadKey
from aetherflow_gateway.db.base import Base
from aetherflow_gateway.jobs.models import Job
from aetherflow_gateway.outbox.models import OutboxMessage

__all__ = [
    "AuditEvent",
    "Base",
    "Dataset",
    "Insight",
    "Invite",
    "Job",
    "OutboxMessage",
    "PendingObject",
    "RefreshToken",
    "UploadKey",
    "User",
]
