"""Ethics-grid assessments (#6)

Revision ID: 0003_ethics
Revises: 0002_evaluations
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003_ethics"
down_revision = "0002_evaluations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ethics_assessment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('grid_version', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('grid_fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sa.Enum('draft', 'submitted', name='ethicsstatus', native_enum=False, length=40), nullable=False),
    sa.Column('previous_id', sa.Integer(), nullable=True),
    sa.Column('to_reanswer', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('submitted_by', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('snapshot', sa.JSON(), nullable=True),
    sa.Column('snapshot_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['previous_id'], ['ethics_assessment.id'], ),
    sa.ForeignKeyConstraint(['submitted_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('device_id', 'number')
    )
    with op.batch_alter_table('ethics_assessment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ethics_assessment_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ethics_assessment_status'), ['status'], unique=False)

    op.create_table('ethics_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('maturity', sa.Integer(), nullable=True),
    sa.Column('not_applicable', sa.Boolean(), nullable=False),
    sa.Column('justification', sa.Text(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['ethics_assessment.id'], ),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['updated_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('assessment_id', 'criterion_id')
    )
    with op.batch_alter_table('ethics_answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ethics_answer_assessment_id'), ['assessment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ethics_answer_device_id'), ['device_id'], unique=False)

    op.create_table('ethics_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('verdict', sa.Enum('agree', 'disagree', name='ethicsverdict', native_enum=False, length=40), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('maturity', sa.Integer(), nullable=True),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['ethics_assessment.id'], ),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['reviewer_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('assessment_id', 'criterion_id')
    )
    with op.batch_alter_table('ethics_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ethics_review_assessment_id'), ['assessment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ethics_review_device_id'), ['device_id'], unique=False)


def downgrade() -> None:
    op.drop_table('ethics_review')
    op.drop_table('ethics_answer')
    op.drop_table('ethics_assessment')
