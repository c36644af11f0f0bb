"""Reviews and signed opinions (#5)

Revision ID: 0006_reviews
Revises: 0005_energy
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006_reviews"
down_revision = "0005_energy"
branch_labels = None
depends_on = None

_KIND = sa.Enum("hta_opinion", "nb_decision", name="opinionkind", native_enum=False, length=40)


def upgrade() -> None:
    op.create_table('review_submission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_organisation_id', sa.Integer(), nullable=False),
    sa.Column('kind', _KIND, nullable=False),
    sa.Column('status', sa.Enum('open', 'information_requested', 'concluded', name='submissionstatus', native_enum=False, length=40), nullable=False),
    sa.Column('cover_note', sa.Text(), nullable=False),
    sa.Column('evaluation_ids', sa.JSON(), nullable=False),
    sa.Column('ethics_assessment_id', sa.Integer(), nullable=True),
    sa.Column('artifact_ids', sa.JSON(), nullable=False),
    sa.Column('previous_id', sa.Integer(), nullable=True),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('prefill', sa.JSON(), nullable=False),
    sa.Column('submitted_by', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'], ),
    sa.ForeignKeyConstraint(['previous_id'], ['review_submission.id'], ),
    sa.ForeignKeyConstraint(['reviewer_organisation_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['submitted_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('review_submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_submission_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_submission_model_version_id'), ['model_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_submission_reviewer_organisation_id'), ['reviewer_organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_submission_status'), ['status'], unique=False)

    op.create_table('review_checklist',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('guideline', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('artifact_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['artifact_id'], ['artifact.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['submission_id'], ['review_submission.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('submission_id', 'guideline')
    )
    with op.batch_alter_table('review_checklist', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_checklist_submission_id'), ['submission_id'], unique=False)

    op.create_table('review_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('question', 'answer', name='messagekind', native_enum=False, length=40), nullable=False),
    sa.Column('in_reply_to', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('artifact_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('author_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['artifact_id'], ['artifact.id'], ),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['in_reply_to'], ['review_message.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['submission_id'], ['review_submission.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('review_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_message_submission_id'), ['submission_id'], unique=False)

    op.create_table('review_opinion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_organisation_id', sa.Integer(), nullable=False),
    sa.Column('kind', _KIND, nullable=False),
    sa.Column('service_attendu', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('asa', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=True),
    sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('certificate_number', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('conditions', sa.Text(), nullable=False),
    sa.Column('rationale', sa.Text(), nullable=False),
    sa.Column('favourable', sa.Boolean(), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('derived', sa.JSON(), nullable=False),
    sa.Column('amends_id', sa.Integer(), nullable=True),
    sa.Column('signer_id', sa.Integer(), nullable=False),
    sa.Column('signer_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('signer_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('signed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('meaning', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('signed_content', sa.Text(), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('signature', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['amends_id'], ['review_opinion.id'], ),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], ),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'], ),
    sa.ForeignKeyConstraint(['reviewer_organisation_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['signer_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['submission_id'], ['review_submission.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('review_opinion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_opinion_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_opinion_submission_id'), ['submission_id'], unique=False)

    op.create_table('review_score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('domain', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
    sa.Column('score', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('justification', sa.Text(), nullable=False),
    sa.Column('evidence_artifact_ids', sa.JSON(), nullable=False),
    sa.Column('scored_by', sa.Integer(), nullable=False),
    sa.Column('scored_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['scored_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['submission_id'], ['review_submission.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('submission_id', 'domain')
    )
    with op.batch_alter_table('review_score', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_score_submission_id'), ['submission_id'], unique=False)

    _forbid_rewrites()


# A signed opinion never changes and the question thread is kept: like audit_event (migration
# 0001), the database itself refuses UPDATE and DELETE on these tables, whatever the code does.
APPEND_ONLY = ("review_opinion", "review_message")

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION review_record_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql
"""


def _forbid_rewrites() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(_PG_FUNCTION)
    for table in APPEND_ONLY:
        if postgresql:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION review_record_append_only()"
            )
            continue
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
            )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY:
        if postgresql:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        else:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS review_record_append_only()")
    with op.batch_alter_table('review_score', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_score_submission_id'))

    op.drop_table('review_score')
    with op.batch_alter_table('review_opinion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_opinion_submission_id'))
        batch_op.drop_index(batch_op.f('ix_review_opinion_device_id'))

    op.drop_table('review_opinion')
    with op.batch_alter_table('review_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_message_submission_id'))

    op.drop_table('review_message')
    with op.batch_alter_table('review_checklist', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_checklist_submission_id'))

    op.drop_table('review_checklist')
    with op.batch_alter_table('review_submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_submission_status'))
        batch_op.drop_index(batch_op.f('ix_review_submission_reviewer_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_review_submission_model_version_id'))
        batch_op.drop_index(batch_op.f('ix_review_submission_device_id'))

    op.drop_table('review_submission')
