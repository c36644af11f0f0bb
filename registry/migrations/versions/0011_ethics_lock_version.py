"""Ethics: a version on each answer and review, so concurrent writers get a 409 (#11)

Revision ID: 0011_ethics_lock_version
Revises: 0010_read_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_ethics_lock_version"
down_revision = "0010_read_indexes"
branch_labels = None
depends_on = None

TABLES = ("ethics_answer", "ethics_review")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("lock_version", sa.Integer(), nullable=False,
                                       server_default="1"))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("lock_version")
