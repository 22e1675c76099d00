import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from aetherflow_gateway.db.base import Base, JSONDocument, new_id, utcnow


class AuditEvent(Base):
    """One security event: who tried what, from where, and how it ended.

    Not `DepartmentOwned`: events before authentication (a failed login for an
    unknown email) belong to no department. Rows are written only in the `SYSTEM`
    scope; on PostgreSQL the row-level policy still hides them from department
    scopes. `actor_id` has no foreign key, so an account's trail outlives it.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_department_occurred", "department", "occurred_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    event: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None]
    department: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(128))
    ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
