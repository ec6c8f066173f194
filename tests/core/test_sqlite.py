"""SQLite connections: foreign keys enforced, a WAL journal whose commits reach the disk before
they return, a busy timeout, and transactions that begin with their first statement."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from app.extensions import db

FULL = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


@pytest.fixture
def sqlite_engine(app: Any) -> Any:
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        yield db.engine


def test_file_database_commits_are_durable(sqlite_engine: Any) -> None:
    with sqlite_engine.connect() as conn:
        assert conn.scalar(text("PRAGMA journal_mode")) == "wal"
        assert conn.scalar(text("PRAGMA synchronous")) == FULL
        assert conn.scalar(text("PRAGMA foreign_keys")) == 1
        assert conn.scalar(text("PRAGMA busy_timeout")) == 5000


def test_a_read_opens_the_transaction(sqlite_engine: Any) -> None:
    """Reads of one transaction see one snapshot: its first SELECT begins it (pysqlite's own
    handling would begin only at the first write)."""
    with sqlite_engine.connect() as conn:
        conn.scalar(text("SELECT 1"))
        assert conn.connection.dbapi_connection.in_transaction
