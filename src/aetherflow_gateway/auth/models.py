import uuid
from datetime import datetime

from sqlalchemy import Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from aetherflow_gateway.db.base import Base, DepartmentOwned, new_id, utcnow


class User(DepartmentOwned, Base):
    __tablename__ = "users"
    __table_args__ = (
        # Emails are unique whatever their case, on PostgreSQL and SQLite alike.
        Index("uq_users_email_lower", text("lower(email)"), unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
