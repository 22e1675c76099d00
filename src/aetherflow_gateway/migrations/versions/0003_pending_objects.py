"""Record objects while their upload is in progress, for the sweep.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_objects",
        sa.Column("object_url", sa.String(1024), primary_key=True),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_pending_objects_created_at", "pending_objects", ["created_at"])


def downgrade() -> None:
    op.drop_table("pending_objects")
