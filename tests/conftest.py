"""Fixtures: one database per test session (built by the migrations), one rolled-back
transaction per test, factories, logged-in clients per role, and a query counter.

TEST_DATABASE_URL selects PostgreSQL; without it the suite uses a temporary SQLite file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import event, text
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from app import create_app
from app.cockpit.services import forget_figures
from app.extensions import db
from config import database_url

pytest_plugins = ["tests.fixtures"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _reset_database(app: Flask) -> None:
    """Start from an empty schema (PostgreSQL keeps tables between runs)."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")
    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=database_url(url),
        MIGRATIONS_DIR=os.path.join(ROOT, "migrations"),
    )
    with app.app_context():
        _reset_database(app)
        upgrade(directory=os.path.join(ROOT, "migrations"))
        db.engine.dispose()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        # A plain Session bound to the connection: Flask-SQLAlchemy's own Session would pick
        # the engine, not this connection, for every query.
        scoped = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
            scopefunc=_app_ctx_id,
        )
        original = db.session
        db.session = scoped
        try:
            yield scoped
        finally:
            scoped.remove()
            db.session = original
            outer.rollback()
            connection.close()
            # Figures kept for data now rolled back (ids are reused on SQLite).
            forget_figures()


@pytest.fixture
def client(app: Flask, session: Session) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask, session: Session) -> Any:
    return app.test_cli_runner()


class QueryCounter:
    """Counts the SQL statements run while active."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app: Flask, session: Session) -> Any:
    """Use as ``with count_queries() as counter: ...``; ``counter.count`` after the block."""

    @contextmanager
    def _count() -> Iterator[QueryCounter]:
        counter = QueryCounter()
        engine = db.engine

        def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
                counter.statements.append(statement)

        event.listen(engine, "before_cursor_execute", _before)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", _before)

    return _count
