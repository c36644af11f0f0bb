"""Reviews and signed opinions (#5)

Revision ID: 0006_reviews
Revises: 0005_energy
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0006_reviews"
down_revision = "0005_energy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
