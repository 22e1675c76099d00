"""Record security events, and let PostgreSQL enforce the department boundary.

Every departmental table gets the row-level security policy described in
`aetherflow_gateway.db.row_security`, forced so that the tables' owner is bound by
it too. SQLite has no row-level security and skips that part.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from aetherflow_gateway.db.row_security import disable_statements, enable_statements

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The departmental tables at this revision; a later table gets its policy in the
# migration that creates it.
DEPARTMENTAL_TABLES = (
    "users",
    "datasets",
    "jobs",
    "insights",
    "upload_keys",
    "audit_events",
)


def upgrade() -> None:
    _create_audit_events()
    if op.get_bind().dialect.name != "postgresql":
        return

    for table in DEPARTMENTAL_TABLES:
        for statement in enable_statements(table):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in DEPARTMENTAL_TABLES:
            for statement in disable_statements(table):
                op.execute(statement)

    op.drop_table("audit_events")


def _create_audit_events() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("department", sa.String(64), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
    )
    op.create_index("ix_audit_events_occurred_at", "audit_events", ["occurred_at"])
    op.create_index(
        "ix_audit_events_department_occurred",
        "audit_events",
        ["department", "occurred_at"],
    )
