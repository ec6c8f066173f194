"""PostgreSQL connections are set up for short aggregate queries (JIT off unless asked for), plan
each statement for its own parameters, and prepare the statements marked SAME_PLAN once per
connection, for the connection's life."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask import Flask, current_app
from sqlalchemy import Connection, create_engine, text

from app.auth.models import Role
from app.core.db import SAME_PLAN
from app.core.postgresql import configure_postgresql
from app.extensions import db
from tests.factories import ContactLogFactory, LeadFactory, UserFactory
from tests.fixtures import login
from tests.test_migrations import migrated_scratch

LOOKUP = text("SELECT name FROM park WHERE id = :id").execution_options(**SAME_PLAN)
FILTER = text("SELECT count(*) FROM park WHERE id > :n")


@pytest.fixture
def postgresql(app: Flask) -> Iterator[None]:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only (TEST_DATABASE_URL)")
        yield


def _prepared(conn: Connection) -> dict[str, str]:
    """The connection's prepared statements on the server: name -> text."""
    rows = conn.execute(text("SELECT name, statement FROM pg_prepared_statements"))
    return {name: statement for name, statement in rows}


def test_jit_is_off_on_postgresql(postgresql: None) -> None:
    with db.engine.connect() as conn:
        assert conn.scalar(text("SHOW jit")) == "off"


def test_statements_are_planned_for_their_parameters(postgresql: None) -> None:
    """Never prepared on the server (no generic plan), however often a statement runs."""
    with db.engine.connect() as conn:
        before = _prepared(conn)
        for _ in range(12):
            conn.execute(FILTER, {"n": 0})
        assert _prepared(conn) == before
        assert "count(*)" not in " ".join(before.values())


def test_a_same_plan_statement_is_prepared_once(postgresql: None) -> None:
    with db.engine.connect() as conn:
        for _ in range(3):
            conn.execute(LOOKUP, {"id": 1}).all()
        prepared = [name for name, sql in _prepared(conn).items() if "FROM park WHERE id" in sql]
        assert len(prepared) == 1


def test_prepared_statements_outlive_a_rollback(postgresql: None) -> None:
    with db.engine.connect() as conn:
        conn.execute(LOOKUP, {"id": 1}).all()
        kept = _prepared(conn)
        assert any("FROM park WHERE id" in sql for sql in kept.values())
        conn.rollback()
        conn.execute(LOOKUP, {"id": 2}).all()
        assert _prepared(conn) == kept  # the same statement, not prepared again
        conn.execute(text("DROP TABLE IF EXISTS no_such_table"))
        conn.rollback()
        # psycopg's own rule still holds: a DROP forgets the connection's prepared statements
        assert _prepared(conn) == {}


def test_a_failed_transaction_forgets_them(postgresql: None) -> None:
    with db.engine.connect() as conn:
        conn.execute(LOOKUP, {"id": 1}).all()
        assert _prepared(conn)
        with pytest.raises(Exception, match="division by zero"):
            conn.execute(text("SELECT 1 / 0"))
        conn.rollback()
        assert _prepared(conn) == {}
        assert conn.execute(LOOKUP, {"id": -1}).all() == []


def test_a_statement_whose_result_type_changed_is_prepared_again(postgresql: None) -> None:
    """After a migration changes the type of a column a prepared statement returns, the server
    refuses the statement once; the connection then prepares it again instead of failing on
    every request."""
    probe = text("SELECT id, label FROM prepared_probe WHERE id = :id").execution_options(
        **SAME_PLAN
    )
    with db.engine.connect() as ddl:
        ddl.execute(text("CREATE TABLE prepared_probe (id integer PRIMARY KEY, label varchar(10))"))
        ddl.execute(text("INSERT INTO prepared_probe VALUES (1, '探针')"))
        ddl.commit()
    try:
        with db.engine.connect() as conn:
            assert conn.execute(probe, {"id": 1}).all() == [(1, "探针")]
            conn.rollback()
            with db.engine.connect() as ddl:
                ddl.execute(text("ALTER TABLE prepared_probe ALTER COLUMN label TYPE text"))
                ddl.commit()
            with pytest.raises(Exception, match="cached plan must not change result type"):
                conn.execute(probe, {"id": 1})
            conn.rollback()
            assert conn.execute(probe, {"id": 1}).all() == [(1, "探针")]
    finally:
        with db.engine.connect() as ddl:
            ddl.execute(text("DROP TABLE prepared_probe"))
            ddl.commit()


def test_nothing_is_prepared_when_turned_off(postgresql: None) -> None:
    """``POSTGRES_PREPARE=0``, for a pooler that does not carry prepared statements."""
    engine = create_engine(db.engine.url)
    configure_postgresql(engine, jit=False, prepare=False)
    try:
        with engine.connect() as conn:
            for _ in range(3):
                conn.execute(LOOKUP, {"id": 1}).all()
            assert _prepared(conn) == {}
            assert conn.connection.dbapi_connection.prepare_threshold is None
    finally:
        engine.dispose()


def test_a_record_page_prepares_its_lookups_once(app: Flask, tmp_path: Path) -> None:
    """Requests on a real engine, each in its own application context (its session closed, its
    transaction rolled back at the end): the record page's lookups are prepared by the first
    request and used as they are by the next ones, on the one pooled connection."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only (TEST_DATABASE_URL)")
    with migrated_scratch(app, tmp_path):
        leader = UserFactory(username="leader", role=Role.LEADER)
        lead = LeadFactory(owner=leader)
        ContactLogFactory(lead=lead, created_by=leader)
        db.session.commit()
        lead_id, _name = lead.id, leader.username  # loaded before the session goes
        db.session.remove()
        db.engine.dispose()
        client = current_app.test_client()
        # A thread of its own: the test's application context is not the requests'.
        with ThreadPoolExecutor(1) as requests:
            requests.submit(login, client, leader).result()
            page = requests.submit(client.get, f"/leads/{lead_id}").result()
            assert page.status_code == 200
            with db.engine.connect() as conn:
                first = _prepared(conn)
            assert any("FROM contact_log" in sql for sql in first.values())
            assert any("FROM lead" in sql and "lead.id = $1" in sql for sql in first.values())
            for _ in range(2):
                assert requests.submit(client.get, f"/leads/{lead_id}").result().status_code == 200
            with db.engine.connect() as conn:
                assert _prepared(conn) == first
            assert db.engine.pool.checkedin() == 1
