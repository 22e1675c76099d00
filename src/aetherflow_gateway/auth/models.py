import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text, true
from sqlalchemy.orm import Mapped, mapped_column

from aetherflow_gateway.db.base import Base, DepartmentOwned, new_id, utcnow

Role = Literal["member", "admin"]
ROLE_CHECK = "role IN ('member', 'admin')"


class User(DepartmentOwned, Base):
    __tablename__ = "users"
    __table_args__ = (
        # Emails are unique whatever their case, on PostgreSQL and SQLite alike.
        Index("uq_users_email_lower", text("lower(email)"), unique=True),
        CheckConstraint(ROLE_CHECK, name="ck_users_role"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    role: Mapped[str] = mapped_column(
        String(16), default="member", server_default="member"
    )


class RefreshToken(DepartmentOwned, Base):
    """One refresh token of a login's family; only its SHA-256 hash is stored.

    Exchanging a token sets `used_at` and `replaced_by` and adds its successor to
    the same family; presenting a used token again revokes the whole family.
    """

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    replaced_by: Mapped[uuid.UUID | None]
    revoked_at: Mapped[datetime | None]


class Invite(DepartmentOwned, Base):
    """A single-use, expiring invitation into one department with one role."""

    __tablename__ = "invites"
    __table_args__ = (CheckConstraint(ROLE_CHECK, name="ck_invites_role"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
