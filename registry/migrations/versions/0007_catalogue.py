"""Public catalogue (#10)

Revision ID: 0007_catalogue
Revises: 0006_reviews
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0007_catalogue"
down_revision = "0006_reviews"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
