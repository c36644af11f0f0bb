"""Ethics-grid assessments (#6)

Revision ID: 0003_ethics
Revises: 0002_evaluations
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0003_ethics"
down_revision = "0002_evaluations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
