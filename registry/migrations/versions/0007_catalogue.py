"""Public catalogue (#10): use cases and their assessments, problem reports

Revision ID: 0007_catalogue
Revises: 0006_reviews
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007_catalogue"
down_revision = "0006_reviews"
branch_labels = None
depends_on = None

THEMES = ("ACCESS", "PATHWAY", "CARE", "TECH_PLATFORM", "PREVENTION", "LOGISTICS", "ADMIN",
          "RESEARCH", "STEERING")


def upgrade() -> None:
    op.create_table(
        "use_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("theme", sa.Enum(*THEMES, name="theme", native_enum=False, length=40),
                  nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"]),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("use_case", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_use_case_code"), ["code"], unique=True)
        batch_op.create_index(batch_op.f("ix_use_case_device_id"), ["device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_use_case_theme"), ["theme"], unique=False)

    op.create_table(
        "use_case_assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("use_case_id", sa.Integer(), nullable=False),
        sa.Column("assessor_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("justifications", sa.JSON(), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["assessor_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"]),
        sa.ForeignKeyConstraint(["use_case_id"], ["use_case.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("use_case_id", "assessor_id"),
    )
    with op.batch_alter_table("use_case_assessment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_use_case_assessment_assessor_id"), ["assessor_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_use_case_assessment_use_case_id"), ["use_case_id"],
                              unique=False)

    op.create_table(
        "problem_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.Enum("performance", "safety", "usability", "data_protection",
                                      "information", "other", name="problemcategory",
                                      native_enum=False, length=40), nullable=False),
        sa.Column("reporter_kind", sa.Enum("patient", "professional", "other",
                                           name="reporterkind", native_enum=False, length=40),
                  nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("contact", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("status", sa.Enum("open", "acknowledged", "dismissed", "incident_requested",
                                    "converted", name="problemstatus", native_enum=False,
                                    length=40), nullable=False),
        sa.Column("client_fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64),
                  nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("handled_by", sa.Integer(), nullable=True),
        sa.Column("handled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("handling_note", sqlmodel.sql.sqltypes.AutoString(length=4000),
                  nullable=False),
        sa.Column("incident_ref", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"]),
        sa.ForeignKeyConstraint(["handled_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("problem_report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_problem_report_client_fingerprint"),
                              ["client_fingerprint"], unique=False)
        batch_op.create_index(batch_op.f("ix_problem_report_device_id"), ["device_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_problem_report_status"), ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("problem_report")
    op.drop_table("use_case_assessment")
    op.drop_table("use_case")
