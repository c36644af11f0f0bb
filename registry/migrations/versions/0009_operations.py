"""Operations: the process running a job, to reap jobs of dead workers (#11)

Revision ID: 0009_operations
Revises: 0008_dossiers
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009_operations"
down_revision = "0008_dossiers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job") as batch:
        batch.add_column(sa.Column("worker", sqlmodel.sql.sqltypes.AutoString(length=120),
                                   nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("job") as batch:
        batch.drop_column("worker")
