"""Read paths at scale (#11): the catalogue's order (name, code) as an index

Revision ID: 0010_read_indexes
Revises: 0009_operations
"""

from alembic import op

revision = "0010_read_indexes"
down_revision = "0009_operations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_device_name_code", "device", ["name", "code"])


def downgrade() -> None:
    op.drop_index("ix_device_name_code", table_name="device")
