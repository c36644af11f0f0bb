"""Energy records (#8)

Revision ID: 0005_energy
Revises: 0004_monitoring
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0005_energy"
down_revision = "0004_monitoring"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
