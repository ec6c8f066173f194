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
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only (TEST_DATABASE_URL)")
        with db.engine.connect() as conn:
            assert conn.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"
