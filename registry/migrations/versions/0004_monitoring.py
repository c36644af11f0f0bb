"""Monitoring: per-deployment configuration, batches, alerts, notifications, incidents (#7)

Revision ID: 0004_monitoring
Revises: 0003_ethics
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004_monitoring"
down_revision = "0003_ethics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('monitoring_config',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=False),
    sa.Column('batch_schema', sa.JSON(), nullable=False),
    sa.Column('score_column', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('id_column', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('site_column', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('subgroup_columns', sa.JSON(), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=False),
    sa.Column('reference_artifact_id', sa.Integer(), nullable=True),
    sa.Column('reference_evaluation_id', sa.Integer(), nullable=True),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('baseline', sa.JSON(), nullable=False),
    sa.Column('calibration', sa.JSON(), nullable=False),
    sa.Column('contacts', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], ),
    sa.ForeignKeyConstraint(['reference_artifact_id'], ['artifact.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('deployment_id')
    )
    op.create_table('monitoring_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('period_end', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('artifact_id', sa.Integer(), nullable=False),
    sa.Column('file_format', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('queued', 'done', 'failed', name='batchstatus', native_enum=False, length=40), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('job_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('uploaded_by', sa.Integer(), nullable=True),
    sa.Column('drift_share', sa.Float(), nullable=True),
    sa.Column('n_features_drifted', sa.Integer(), nullable=True),
    sa.Column('missing_rate', sa.Float(), nullable=True),
    sa.Column('results', sa.JSON(), nullable=True),
    sa.Column('labels_artifact_id', sa.Integer(), nullable=True),
    sa.Column('labels_received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('measured', sa.JSON(), nullable=True),
    sa.Column('analysed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['artifact_id'], ['artifact.id'], ),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], ),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], ),
    sa.ForeignKeyConstraint(['labels_artifact_id'], ['artifact.id'], ),
    sa.ForeignKeyConstraint(['uploaded_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_monitoring_batch_deployment_received', 'monitoring_batch', ['deployment_id', 'received_at'], unique=False)
    op.create_index(op.f('ix_monitoring_batch_device_id'), 'monitoring_batch', ['device_id'], unique=False)
    op.create_table('monitoring_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('dedup_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('observed', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('limit', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('status', sa.Enum('open', 'acknowledged', 'resolved', name='alertstatus', native_enum=False, length=40), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('first_batch_id', sa.Integer(), nullable=False),
    sa.Column('last_batch_id', sa.Integer(), nullable=False),
    sa.Column('first_seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('acknowledged_by', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('acknowledge_comment', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('resolved_by', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('resolve_comment', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.ForeignKeyConstraint(['acknowledged_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], ),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['first_batch_id'], ['monitoring_batch.id'], ),
    sa.ForeignKeyConstraint(['last_batch_id'], ['monitoring_batch.id'], ),
    sa.ForeignKeyConstraint(['resolved_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_monitoring_alert_device_id'), 'monitoring_alert', ['device_id'], unique=False)
    op.create_index('ix_monitoring_alert_open', 'monitoring_alert', ['deployment_id', 'dedup_key', 'status'], unique=False)
    op.create_index(op.f('ix_monitoring_alert_status'), 'monitoring_alert', ['status'], unique=False)
    op.create_table('incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=True),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('serious', sa.Boolean(), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('awareness_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('deadline_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('legal_ref', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('status', sa.Enum('open', 'reported', 'closed', name='incidentstatus', native_enum=False, length=40), nullable=False),
    sa.Column('reported_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('closed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], ),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('device_id', 'reference')
    )
    op.create_index(op.f('ix_incident_device_id'), 'incident', ['device_id'], unique=False)
    op.create_index(op.f('ix_incident_status'), 'incident', ['status'], unique=False)
    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('deployment_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('read_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['monitoring_alert.id'], ),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], ),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_notification_inbox', 'notification', ['organisation_id', 'read_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_notification_inbox', table_name='notification')
    op.drop_table('notification')
    op.drop_index(op.f('ix_incident_status'), table_name='incident')
    op.drop_index(op.f('ix_incident_device_id'), table_name='incident')
    op.drop_table('incident')
    op.drop_index(op.f('ix_monitoring_alert_status'), table_name='monitoring_alert')
    op.drop_index('ix_monitoring_alert_open', table_name='monitoring_alert')
    op.drop_index(op.f('ix_monitoring_alert_device_id'), table_name='monitoring_alert')
    op.drop_table('monitoring_alert')
    op.drop_index(op.f('ix_monitoring_batch_device_id'), table_name='monitoring_batch')
    op.drop_index('ix_monitoring_batch_deployment_received', table_name='monitoring_batch')
    op.drop_table('monitoring_batch')
    op.drop_table('monitoring_config')
