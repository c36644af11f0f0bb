"""Dossiers (#9)

Revision ID: 0008_dossiers
Revises: 0007_catalogue
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008_dossiers"
down_revision = "0007_catalogue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dossier',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('built_by', sa.Integer(), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('generated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('pdf_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('manifest_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('audit_head_seq', sa.Integer(), nullable=False),
    sa.Column('audit_head_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('seal_certificate_sha256', sqlmodel.sql.sqltypes.AutoString(length=64),
              nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['built_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossier_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dossier_dossier_id'), ['dossier_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_dossier_pdf_sha256'), ['pdf_sha256'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_pdf_sha256'))
        batch_op.drop_index(batch_op.f('ix_dossier_dossier_id'))
        batch_op.drop_index(batch_op.f('ix_dossier_device_id'))
    op.drop_table('dossier')
