"""Energy records (#8)

Revision ID: 0005_energy
Revises: 0004_monitoring
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005_energy"
down_revision = "0004_monitoring"
branch_labels = None
depends_on = None

_PHASES = ("training", "validation", "monitoring", "inference", "registry")
_SOURCES = ("measured", "declared", "imported")


def upgrade() -> None:
    op.create_table(
        "energy_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phase", sa.Enum(*_PHASES, name="phase", native_enum=False, length=40),
                  nullable=False),
        sa.Column("source", sa.Enum(*_SOURCES, name="footprintsource", native_enum=False,
                                    length=40), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("model_version_id", sa.Integer(), nullable=True),
        sa.Column("deployment_id", sa.Integer(), nullable=True),
        sa.Column("job_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("artifact_id", sa.Integer(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("energy_kwh", sa.Float(), nullable=False),
        sa.Column("cpu_kwh", sa.Float(), nullable=True),
        sa.Column("gpu_kwh", sa.Float(), nullable=True),
        sa.Column("ram_kwh", sa.Float(), nullable=True),
        sa.Column("emissions_kg", sa.Float(), nullable=False),
        sa.Column("country", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
        sa.Column("predictions", sa.Integer(), nullable=True),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("caveats", sa.JSON(), nullable=False),
        sa.Column("hardware", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"]),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"]),
        sa.ForeignKeyConstraint(["model_version_id"], ["model_version.id"]),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployment.id"]),
        sa.ForeignKeyConstraint(["job_id"], ["job.id"]),
        sa.ForeignKeyConstraint(["artifact_id"], ["artifact.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("energy_record") as batch:
        batch.create_index("ix_energy_record_phase", ["phase"])
        batch.create_index("ix_energy_record_organisation_id", ["organisation_id"])
        batch.create_index("ix_energy_record_device_id", ["device_id"])


def downgrade() -> None:
    op.drop_table("energy_record")
