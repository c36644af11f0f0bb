"""Monitoring: batches, alerts, incidents (#7)

Revision ID: 0004_monitoring
Revises: 0003_ethics
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0004_monitoring"
down_revision = "0003_ethics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
