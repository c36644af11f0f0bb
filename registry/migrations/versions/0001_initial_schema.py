"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-24 21:04:55.727116
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('head_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('signed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('signature', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_checkpoint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_checkpoint_seq'), ['seq'], unique=False)

    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('actor_role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('object_type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('object_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_seq'), ['seq'], unique=True)

    op.create_table('organisation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sa.Enum('manufacturer', 'notified_body', 'hta_agency', 'hospital', 'auditor', 'authority', 'registry_operator', name='organisationkind', native_enum=False, length=40), nullable=False),
    sa.Column('city', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('actor_srn', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('manufacturer_id', sa.Integer(), nullable=False),
    sa.Column('intended_purpose', sa.Text(), nullable=False),
    sa.Column('medical_indication', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('target_population', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('intended_users', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('use_environment', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('output_role', sa.Enum('inform', 'drive', 'diagnose_treat', name='outputrole', native_enum=False, length=40), nullable=True),
    sa.Column('contraindications', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('theme', sa.Enum('ACCESS', 'PATHWAY', 'CARE', 'TECH_PLATFORM', 'PREVENTION', 'LOGISTICS', 'ADMIN', 'RESEARCH', 'STEERING', name='theme', native_enum=False, length=40), nullable=False),
    sa.Column('secondary_themes', sa.JSON(), nullable=False),
    sa.Column('regulation', sa.Enum('MDR', 'IVDR', 'none', name='regulation', native_enum=False, length=40), nullable=False),
    sa.Column('risk_class', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('classification_rule', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('classification_reasoning', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('ai_act_category', sa.Enum('high_risk_art6_1', 'high_risk_annex_iii', 'limited_risk', 'minimal_risk', 'not_ai_system', name='aiactcategory', native_enum=False, length=40), nullable=True),
    sa.Column('ai_act_reasoning', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('classification_final', sa.Boolean(), nullable=False),
    sa.Column('adaptivity', sa.Enum('locked', 'adaptive', name='adaptivity', native_enum=False, length=40), nullable=False),
    sa.Column('change_envelope', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('ai_technique', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('task', sa.Enum('binary', 'multiclass', 'ordinal', 'regression', 'risk', 'generative', name='task', native_enum=False, length=40), nullable=False),
    sa.Column('actor_srn', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('basic_udi_di', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('udi_di', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('emdn_code', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('certificate_numbers', sa.JSON(), nullable=False),
    sa.Column('stage', sa.Enum('S1_NEEDS', 'S2_DATA', 'S3_MODEL', 'S4_VALIDATION', 'S5_REGULATORY', 'S6_DEPLOYMENT', 'S7_POSTMARKET', name='stage', native_enum=False, length=40), nullable=False),
    sa.Column('withdrawn_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('is_published', sa.Boolean(), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['manufacturer_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_code'), ['code'], unique=True)
        batch_op.create_index(batch_op.f('ix_device_is_published'), ['is_published'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_manufacturer_id'), ['manufacturer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_stage'), ['stage'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_theme'), ['theme'], unique=False)

    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('admin', 'manufacturer', 'reviewer', 'hospital', 'auditor', 'authority', name='role', native_enum=False, length=40), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_email'), ['email'], unique=True)
        batch_op.create_index(batch_op.f('ix_user_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('access_grant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('device_id', 'organisation_id')
    )
    with op.batch_alter_table('access_grant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_grant_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_grant_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('prefix', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_prefix'), ['prefix'], unique=True)
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)

    op.create_table('artifact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('media_type', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['uploaded_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('artifact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_artifact_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_artifact_sha256'), ['sha256'], unique=False)

    op.create_table('change_control_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('authority', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('authorised_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('device_id')
    )
    op.create_table('job',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('arguments', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('submitted_by', sa.Integer(), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['submitted_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_status'), ['status'], unique=False)

    op.create_table('kpi',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('metric', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('comparator', sa.Enum('>=', '<=', 'between', name='comparator', native_enum=False, length=40), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=True),
    sa.Column('low', sa.Float(), nullable=True),
    sa.Column('high', sa.Float(), nullable=True),
    sa.Column('population', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('dataset_kind', sa.Enum('internal', 'external', 'prospective', 'rct', name='datasetkind', native_enum=False, length=40), nullable=False),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('kpi', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kpi_device_id'), ['device_id'], unique=False)

    op.create_table('subgroup_variable',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('variable', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('levels', sa.JSON(), nullable=False),
    sa.Column('gap_metric', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('max_gap', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('device_id', 'variable')
    )
    with op.batch_alter_table('subgroup_variable', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subgroup_variable_device_id'), ['device_id'], unique=False)

    op.create_table('planned_modification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('protocol', sqlmodel.sql.sqltypes.AutoString(length=8000), nullable=False),
    sa.Column('acceptance_criteria', sa.JSON(), nullable=False),
    sa.Column('test_data_reference', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('impact_assessment', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['change_control_plan.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_id', 'code')
    )
    with op.batch_alter_table('planned_modification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_planned_modification_plan_id'), ['plan_id'], unique=False)

    op.create_table('model_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('change_type', sa.Enum('initial', 'none_model', 'retrain_in_plan', 'retrain_out_of_plan', 'architecture', 'intended_purpose', name='changetype', native_enum=False, length=40), nullable=False),
    sa.Column('change_description', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('within_pccp', sa.Boolean(), nullable=False),
    sa.Column('planned_modification_id', sa.Integer(), nullable=True),
    sa.Column('model_card', sa.JSON(), nullable=False),
    sa.Column('evaluated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['parent_id'], ['model_version.id'], ),
    sa.ForeignKeyConstraint(['planned_modification_id'], ['planned_modification.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('device_id', 'version')
    )
    with op.batch_alter_table('model_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_version_device_id'), ['device_id'], unique=False)

    op.create_table('deployment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('site', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('go_live_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('expected_monthly_volume', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['hospital_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deployment_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deployment_hospital_id'), ['hospital_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deployment_model_version_id'), ['model_version_id'], unique=False)

    op.create_table('evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=True),
    sa.Column('gate_item', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('artifact_id', sa.Integer(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['artifact_id'], ['artifact.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index('ix_evidence_device_item', ['device_id', 'gate_item'], unique=False)

    op.create_table('stage_transition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('from_stage', sa.Enum('S1_NEEDS', 'S2_DATA', 'S3_MODEL', 'S4_VALIDATION', 'S5_REGULATORY', 'S6_DEPLOYMENT', 'S7_POSTMARKET', name='stage', native_enum=False, length=40), nullable=True),
    sa.Column('to_stage', sa.Enum('S1_NEEDS', 'S2_DATA', 'S3_MODEL', 'S4_VALIDATION', 'S5_REGULATORY', 'S6_DEPLOYMENT', 'S7_POSTMARKET', name='stage', native_enum=False, length=40), nullable=False),
    sa.Column('direction', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('stage_transition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stage_transition_device_id'), ['device_id'], unique=False)

    _forbid_audit_rewrites()


# The audit trail is append-only: the database itself refuses to rewrite history, whatever the
# application does. PostgreSQL and SQLite both get a trigger.
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql
"""


def _forbid_audit_rewrites() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
                f"BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: {verb} refused'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    with op.batch_alter_table('stage_transition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stage_transition_device_id'))

    op.drop_table('stage_transition')
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_device_item')

    op.drop_table('evidence')
    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deployment_model_version_id'))
        batch_op.drop_index(batch_op.f('ix_deployment_hospital_id'))
        batch_op.drop_index(batch_op.f('ix_deployment_device_id'))

    op.drop_table('deployment')
    with op.batch_alter_table('model_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_version_device_id'))

    op.drop_table('model_version')
    with op.batch_alter_table('planned_modification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_planned_modification_plan_id'))

    op.drop_table('planned_modification')
    with op.batch_alter_table('subgroup_variable', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subgroup_variable_device_id'))

    op.drop_table('subgroup_variable')
    with op.batch_alter_table('kpi', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kpi_device_id'))

    op.drop_table('kpi')
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_status'))

    op.drop_table('job')
    op.drop_table('change_control_plan')
    with op.batch_alter_table('artifact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_artifact_sha256'))
        batch_op.drop_index(batch_op.f('ix_artifact_organisation_id'))

    op.drop_table('artifact')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_user_id'))
        batch_op.drop_index(batch_op.f('ix_api_token_prefix'))

    op.drop_table('api_token')
    with op.batch_alter_table('access_grant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_grant_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_access_grant_device_id'))

    op.drop_table('access_grant')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_user_email'))

    op.drop_table('user')
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_theme'))
        batch_op.drop_index(batch_op.f('ix_device_stage'))
        batch_op.drop_index(batch_op.f('ix_device_manufacturer_id'))
        batch_op.drop_index(batch_op.f('ix_device_is_published'))
        batch_op.drop_index(batch_op.f('ix_device_code'))

    op.drop_table('device')
    op.drop_table('organisation')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_seq'))
        batch_op.drop_index(batch_op.f('ix_audit_event_device_id'))
        batch_op.drop_index(batch_op.f('ix_audit_event_action'))

    op.drop_table('audit_event')
    with op.batch_alter_table('audit_checkpoint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_checkpoint_seq'))

    op.drop_table('audit_checkpoint')
