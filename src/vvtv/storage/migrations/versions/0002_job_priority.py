"""jobs.priority: the Factory takes urgent jobs (a channel short of programmes) first

Revision ID: job_priority
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = "job_priority"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("priority")
