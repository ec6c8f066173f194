"""SQLite connections: foreign keys enforced, a WAL journal whose commits reach the disk before
they return, a busy timeout, and transactions that begin with their first statement; and the
planner's hint of a condition's share (``Likely``)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from app.core.sqlite import Likely
from app.extensions import db
from app.pipeline.models import Lead
from tests.factories import LeadFactory

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


def test_a_share_is_told_to_sqlite_alone() -> None:
    condition = Likely(Lead.estimated_investment >= 1, 0.7)
    on_sqlite = str(select(Lead.id).where(condition).compile(dialect=sqlite.dialect()))
    assert on_sqlite.endswith("WHERE likelihood(lead.estimated_investment >= ?, 0.7)")
    both = select(Lead.id).where(condition, Lead.id > 1).compile(dialect=sqlite.dialect())
    assert "likelihood(lead.estimated_investment >= ?, 0.7) AND lead.id > ?" in str(both)
    on_postgresql = str(select(Lead.id).where(condition).compile(dialect=postgresql.dialect()))
    assert "WHERE lead.estimated_investment >= %(estimated_investment_1)s" in on_postgresql
    assert "likelihood" not in on_postgresql
    with pytest.raises(ValueError):
        Likely(Lead.id > 0, 1.5)


def test_statements_differing_only_in_the_share_are_cached_apart() -> None:
    def key(share: float) -> Any:
        return select(Lead.id).where(Likely(Lead.id > 0, share))._generate_cache_key()

    assert key(0.7) == key(0.7) and key(0.7) != key(0.2)


def test_a_hinted_condition_selects_what_it_says(session: Any, world: Any) -> None:
    """On either database (the test suite runs on both)."""
    amounts = [None, 0, 1, 2, 5]
    for amount in amounts:
        LeadFactory(owner=world.officer, park=world.park_a, estimated_investment=amount)
    session.flush()
    for share in (0.0, 0.7, 1.0):
        found = session.scalar(
            select(func.count()).where(Likely(Lead.estimated_investment >= 1, share))
        )
        assert found == 3
