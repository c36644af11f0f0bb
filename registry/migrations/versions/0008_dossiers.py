"""Dossiers (#9)

Revision ID: 0008_dossiers
Revises: 0007_catalogue
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0008_dossiers"
down_revision = "0007_catalogue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
