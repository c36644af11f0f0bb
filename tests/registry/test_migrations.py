from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import registry.models  # noqa: F401


def test_models_and_migrations_agree(connection):
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    diff = compare_metadata(context, SQLModel.metadata)
    assert diff == [], (
        "registry/models/ and the Alembic migrations disagree. HOW TO FIX: run\n"
        "  python -c \"from alembic import command; from registry.migrate import alembic_config;"
        " command.revision(alembic_config('sqlite:///x.db'), autogenerate=True, message='...')\"\n"
        f"against a database at head, review the new file, and commit it. Differences: {diff}"
    )
