"""The schema comes from Alembic migrations alone, and they describe exactly what the models say."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.db import make_engine, upgrade
from storage.models import Base


def test_migrations_build_the_schema_the_models_describe(database_url):
    upgrade(database_url)  # already at head: a second upgrade is a no-op
    engine = make_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []
