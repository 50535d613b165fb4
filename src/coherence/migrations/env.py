"""Alembic environment: migrate the engine handed over by the runner or alembic.ini."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from coherence import models_registry
from coherence.db import Base, make_engine
from coherence.settings import Settings

models_registry.import_all()
target_metadata = Base.metadata


def _engine() -> Engine:
    engine = context.config.attributes.get("engine")
    if isinstance(engine, Engine):
        return engine
    return make_engine(Settings().resolved_database_url)


def run_migrations_online() -> None:
    """Run migrations on a live connection."""
    with _engine().connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
