"""The migrations build exactly the schema the models describe, and can be undone and redone.

Both tests run on the suite's database engine: SQLite by default, PostgreSQL when
TEST_DATABASE_URL points at it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask, current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, func, inspect, select, table, text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from app import create_app
from app.extensions import db

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")


def schema_differences(connection: Connection) -> list[Any]:
    """Return what autogenerate would put into a new migration (nothing, if all is in step)."""
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "render_as_batch": True}
    )
    return compare_metadata(context, db.metadata)


def describe(difference: Any) -> str:
    """Return one short line for an autogenerate difference (the raw tuples are pages long)."""
    if isinstance(difference, list):
        return "; ".join(describe(item) for item in difference)
    operation, *details = difference
    names = [str(getattr(item, "name", item)) for item in details[:4] if item is not None]
    return " ".join([operation, *names])


def test_models_match_migrations(app: Flask) -> None:
    """`flask db upgrade` leaves nothing for `flask db migrate` to add: no forgotten migration."""
    with app.app_context():
        try:
            with db.engine.connect() as connection:
                url = connection.engine.url
                existing = set(inspect(connection).get_table_names())
                differences = schema_differences(connection)
        finally:
            # Close the pooled connection now rather than leave it to the garbage collector.
            db.engine.dispose()
    assert existing, f"the suite's database {url!r} has no tables: was it migrated?"
    assert differences == [], "models and migrations disagree; run `flask db migrate`:\n" + (
        "\n".join(map(describe, differences))
    )


@contextmanager
def scratch_database(app: Flask, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of an empty database on the suite's engine; drop it afterwards."""
    with app.app_context():
        url = db.engine.url
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
        return
    if url.get_backend_name() != "postgresql":
        pytest.skip(f"no scratch database recipe for {url.get_backend_name()}")
    name = f"crm_migrations_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    server = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@contextmanager
def migrated_scratch(app: Flask, tmp_path: Path, revision: str = "head") -> Iterator[None]:
    """Inside an app context on a scratch database migrated to *revision* (its engine disposed
    afterwards, so the database can be dropped)."""
    with scratch_database(app, tmp_path) as url:
        scratch = create_app("testing", SQLALCHEMY_DATABASE_URI=url, MIGRATIONS_DIR=MIGRATIONS)
        with scratch.app_context():
            try:
                upgrade(directory=MIGRATIONS, revision=revision)
                yield
            finally:
                db.engine.dispose()


def test_downgrade_to_base_and_upgrade_again(app: Flask, tmp_path: Path) -> None:
    """Every migration's downgrade works, and the schema rebuilt afterwards is still right."""
    with migrated_scratch(app, tmp_path):
        tables = set(inspect(db.engine).get_table_names())
        assert set(db.metadata.tables) <= tables

        downgrade(directory=MIGRATIONS, revision="base")
        left = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert left == set(), f"tables left after downgrade to base: {sorted(left)}"

        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as connection:
            differences = schema_differences(connection)
        assert list(map(describe, differences)) == []


#: The tables a downgrade and upgrade must keep the rows of (the rest are rebuilt or reference).
KEPT = ("enterprise", "lead", "project", "stage_change", "contact_log", "audit_log", "name_gram")
#: The revision before the one that added ``opened_on`` and ``furthest_stage``: going down to it
#: drops two columns of ``lead`` and ``project``, which SQLite does by copying each table into a
#: new one and dropping the old one, while the stage history and contacts still reference it.
BEFORE_OPENED_ON = "b5d1f0c2a8e4"


def _row_counts() -> dict[str, int]:
    with db.engine.connect() as connection:
        return {
            t: connection.execute(select(func.count()).select_from(table(t))).scalar() for t in KEPT
        }


def test_a_populated_database_goes_down_and_up_again(app: Flask, tmp_path: Path) -> None:
    """An office's database, full of records, is migrated down past a migration that rebuilds
    the records' tables and up again without losing a row, and then down to nothing."""
    from app.demo.loader import load_demo

    with migrated_scratch(app, tmp_path):
        with current_app.test_request_context():  # the scratch database's application
            result = load_demo(db.session)
            db.session.commit()
            db.session.remove()
        assert result is not None and result.projects > 0
        before = _row_counts()
        assert all(before.values()), before

        downgrade(directory=MIGRATIONS, revision=BEFORE_OPENED_ON)
        assert _row_counts() == before
        upgrade(directory=MIGRATIONS)
        assert _row_counts() == before
        with db.engine.connect() as connection:
            assert list(map(describe, schema_differences(connection))) == []
            # The stored columns the upgrade added were filled again from the history.
            empty = "SELECT count(*) FROM project WHERE opened_on IS NULL OR furthest_stage IS NULL"
            assert connection.execute(text(empty)).scalar() == 0
            if connection.dialect.name == "sqlite":
                # Enforcement is back on for the application's connections.
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1

        downgrade(directory=MIGRATIONS, revision="base")
        left = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert left == set()


def test_a_migration_that_leaves_a_broken_reference_is_rolled_back(
    app: Flask, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On SQLite the migrations run without foreign key enforcement; each one checks every
    reference before it commits, and one that leaves a row pointing nowhere is undone."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("PostgreSQL enforces references inside migrations itself")
    with migrated_scratch(app, tmp_path):
        head = _current_revision()
        with db.engine.connect() as connection:
            # A row pointing nowhere, as a faulty migration could leave one (the pragma acts
            # outside a transaction only: on the driver's connection, before any statement).
            driver = connection.connection.driver_connection
            driver.execute("PRAGMA foreign_keys=OFF")
            driver.execute(
                "INSERT INTO stage_change (lead_id, to_stage, effective_on, recorded_at) "
                "VALUES (999999, 'lead', '2026-01-01', '2026-01-01 00:00:00')"
            )
            driver.commit()
            driver.execute("PRAGMA foreign_keys=ON")

        with pytest.raises(SystemExit):
            downgrade(directory=MIGRATIONS, revision="-1")
        # Flask-Migrate logs the error (Alembic's logging setup writes it to standard error).
        assert (
            f"downgrade from {head}: 1 references to missing rows: stage_change row 1 -> lead"
            in capsys.readouterr().err
        )
        # The step was rolled back: the database is still at its revision, with its columns.
        assert _current_revision() == head
        columns = {c["name"] for c in inspect(db.engine).get_columns("contact_log")}
        assert {"version", "updated_at"} <= columns


def test_deleted_rows_ids_are_never_reused_on_sqlite(app: Flask, tmp_path: Path) -> None:
    """The audited tables users delete rows from are AUTOINCREMENT after the migrations, as
    the models declare (a reused id would join a new row's audit history to a deleted one's)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("PostgreSQL sequences never hand out an id twice")
    with migrated_scratch(app, tmp_path), db.engine.connect() as connection:
        for name in ("contact_log", "enterprise_contact", "annual_target"):
            assert db.metadata.tables[name].kwargs.get("sqlite_autoincrement"), name
            sql = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
            ).scalar()
            assert "AUTOINCREMENT" in sql, name


def _current_revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
