"""Alembic migrations for the Coherence schema."""
