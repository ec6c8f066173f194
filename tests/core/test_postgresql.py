"""PostgreSQL connections are set up for short aggregate queries (JIT off unless asked for) and
plan each statement for its own parameters."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from app.extensions import db


def test_jit_is_off_on_postgresql(app: Any) -> None:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only (TEST_DATABASE_URL)")
        with db.engine.connect() as conn:
            assert conn.scalar(text("SHOW jit")) == "off"


def test_statements_are_planned_for_their_parameters(app: Any) -> None:
    """Never prepared on the server (no generic plan), however often a statement runs."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only (TEST_DATABASE_URL)")
        with db.engine.connect() as conn:
            for _ in range(12):
                conn.execute(text("SELECT count(*) FROM park WHERE id > :n"), {"n": 0})
            assert conn.connection.dbapi_connection.prepare_threshold is None
            prepared = conn.scalar(text("SELECT count(*) FROM pg_prepared_statements"))
            assert prepared == 0
