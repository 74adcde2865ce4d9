"""Persistence: SQLAlchemy models, sessions and Alembic migrations (SQLite by default, PostgreSQL by URL)."""
