"""programming: score breakdown per entry, viewer statistics, run-time programming overrides

Revision ID: programming
Revises: job_priority
"""

import sqlalchemy as sa
from alembic import op

revision = "programming"
down_revision = "job_priority"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("schedule_entries") as batch_op:
        batch_op.add_column(sa.Column("score", sa.JSON(), nullable=False, server_default="{}"))
    op.create_table(
        "viewings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("ordinal", sa.BigInteger(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("viewer", sa.String(length=32), nullable=False),
        sa.Column("first_us", sa.BigInteger(), nullable=False),
        sa.Column("last_us", sa.BigInteger(), nullable=False),
        sa.Column("first_index", sa.Integer(), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("watched_us", sa.BigInteger(), nullable=False),
        sa.Column("possible_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "ordinal", "viewer", name="uq_viewings_channel_ordinal_viewer"),
    )
    op.create_index("ix_viewings_asset", "viewings", ["channel", "asset_id"])
    op.create_index("ix_viewings_last", "viewings", ["last_us"])
    op.create_table(
        "programming_overrides",
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("updated_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("channel"),
    )


def downgrade() -> None:
    op.drop_table("programming_overrides")
    op.drop_index("ix_viewings_last", table_name="viewings")
    op.drop_index("ix_viewings_asset", table_name="viewings")
    op.drop_table("viewings")
    with op.batch_alter_table("schedule_entries") as batch_op:
        batch_op.drop_column("score")
