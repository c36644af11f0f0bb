"""Evaluations of validation results (#4)

Revision ID: 0002_evaluations
Revises: 0001
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0002_evaluations"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
