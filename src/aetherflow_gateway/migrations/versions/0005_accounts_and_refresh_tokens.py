"""Accounts that can change (active flag, role), refresh tokens and invites.

Existing users become active members. The two new tables are departmental, so on
PostgreSQL they get the same row-level security policy as the tables of
migration 0004.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

from aetherflow_gateway.db.row_security import enable_statements

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE_CHECK = "role IN ('member', 'admin')"
NEW_DEPARTMENTAL_TABLES = ("refresh_tokens", "invites")


def _timestamp(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    _add_account_columns()
    _create_refresh_tokens()
    _create_invites()
    if op.get_bind().dialect.name == "postgresql":
        _enable_row_security()


def downgrade() -> None:
    op.drop_table("invites")
    op.drop_table("refresh_tokens")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("ck_users_role", "users", type_="check")
    op.drop_column("users", "role")
    op.drop_column("users", "is_active")


def _add_account_columns() -> None:
    op.add_column(
        "users",
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        "users",
        sa.Column("role", sa.String(16), nullable=False, server_default="member"),
    )
    # SQLite cannot add a constraint to an existing table; the model's check and
    # the API's validation hold there.
    if op.get_bind().dialect.name == "postgresql":
        op.create_check_constraint("ck_users_role", "users", ROLE_CHECK)


def _create_refresh_tokens() -> None:
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "user_id",
            sa.Uuid(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("department", sa.String(64), nullable=False),
        _timestamp("created_at"),
        _timestamp("expires_at"),
        _timestamp("used_at", nullable=True),
        sa.Column("replaced_by", sa.Uuid(), nullable=True),
        _timestamp("revoked_at", nullable=True),
    )
    op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"])
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])


def _create_invites() -> None:
    op.create_table(
        "invites",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column(
            "created_by",
            sa.Uuid(),
            sa.ForeignKey("users.id", ondelete="SET NULL"),
            nullable=True,
        ),
        _timestamp("created_at"),
        _timestamp("expires_at"),
        _timestamp("used_at", nullable=True),
        sa.Column(
            "used_by",
            sa.Uuid(),
            sa.ForeignKey("users.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.CheckConstraint(ROLE_CHECK, name="ck_invites_role"),
    )


def _enable_row_security() -> None:
    for table in NEW_DEPARTMENTAL_TABLES:
        for statement in enable_statements(table):
            op.execute(statement)
