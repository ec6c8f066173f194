"""`flask backup create` / `flask backup restore`: a restored backup has every record.

These tests run on SQLite files of their own (a backup reads committed data from the file), on
either suite database; PostgreSQL is refused with a pointer to pg_dump.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import inspect, text

from app import create_app
from app.core.audit import set_actor
from app.extensions import db
from tests.conftest import ROOT
from tests.factories import EnterpriseFactory, LeadFactory, ParkFactory, UserFactory

MIGRATIONS = str(Path(ROOT) / "migrations")


def file_app(path: Path) -> Flask:
    return create_app(
        "testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}", MIGRATIONS_DIR=MIGRATIONS
    )


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[Flask]:
    """An application on a migrated SQLite file with a few committed records."""
    app = file_app(tmp_path / "crm.sqlite3")
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        set_actor(db.session, None, "system")
        park = ParkFactory(code="IC", name="集成电路产业园")
        officer = UserFactory(username="zhang", full_name="张专员")
        for n in range(5):
            LeadFactory(title=f"线索{n}", owner=officer, park=park, enterprise=EnterpriseFactory())
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


def dump(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    with app.app_context(), db.engine.connect() as conn:
        tables = sorted(inspect(conn).get_table_names())
        return {
            t: [tuple(r) for r in conn.execute(text(f'SELECT * FROM "{t}" ORDER BY 1'))]  # noqa: S608
            for t in tables
        }


def run(app: Flask, *args: str) -> Any:
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args))
        db.engine.dispose()
    return result


def test_a_restored_backup_has_every_record(crm: Flask, tmp_path: Path) -> None:
    before = dump(crm)
    assert len(before["lead"]) == 5 and before["audit_log"]
    backup = tmp_path / "backup.sqlite3"

    result = run(crm, "backup", "create", "-o", str(backup))
    assert result.exit_code == 0, result.output
    assert f"已备份到 {backup}" in result.output

    # Later work, then a disaster: rows lost.
    with crm.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM lead"))
            conn.execute(text("UPDATE park SET name = '改错的名字'"))
        db.engine.dispose()
    assert dump(crm) != before

    result = run(crm, "backup", "restore", str(backup), "--yes")
    assert result.exit_code == 0, result.output
    assert "已从" in result.output and "原数据库已另存为" in result.output

    assert dump(crm) == before
    # The database as it was before the restore was kept.
    kept = next((tmp_path / "backups").glob("*.before-restore"))
    with sqlite3.connect(kept) as conn:
        assert conn.execute("SELECT count(*) FROM lead").fetchone()[0] == 0


def test_a_backup_is_consistent_while_the_application_writes(crm: Flask, tmp_path: Path) -> None:
    """Writers keep committing during the backup: the copy is a state that existed."""
    stop = threading.Event()
    with crm.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE load_test (id INTEGER PRIMARY KEY, n INTEGER)"))
        db.engine.dispose()

    def writer() -> None:
        with crm.app_context():
            n = 0
            while not stop.is_set():
                with db.engine.begin() as conn:
                    # Two rows per transaction: a consistent copy never has an odd count.
                    for _ in range(2):
                        n += 1
                        conn.execute(text("INSERT INTO load_test (n) VALUES (:n)"), {"n": n})
            db.engine.dispose()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for i in range(5):
            result = run(crm, "backup", "create", "-o", str(tmp_path / f"b{i}.sqlite3"))
            assert result.exit_code == 0, result.output
    finally:
        stop.set()
        thread.join()
    for i in range(5):
        with sqlite3.connect(tmp_path / f"b{i}.sqlite3") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            count = conn.execute("SELECT count(*) FROM load_test")
            assert count.fetchone()[0] % 2 == 0


def test_create_refuses_to_overwrite(crm: Flask, tmp_path: Path) -> None:
    existing = tmp_path / "exists.sqlite3"
    existing.write_bytes(b"keep me")
    result = run(crm, "backup", "create", "-o", str(existing))
    assert result.exit_code != 0
    assert "文件已存在，不会覆盖" in result.output
    assert existing.read_bytes() == b"keep me"


def test_the_default_backup_goes_beside_the_database(crm: Flask, tmp_path: Path) -> None:
    result = run(crm, "backup", "create")
    assert result.exit_code == 0, result.output
    assert [p.suffix for p in (tmp_path / "backups").iterdir()] == [".sqlite3"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a database at all", "这不是 SQLite 数据库文件"),
        (None, "这不是本系统的数据库（缺少表："),
        ("unknown-revision", "不是本系统已知的迁移版本"),
        ("missing", "找不到备份文件"),
    ],
)
def test_restore_refuses_what_is_not_a_crm_database(
    crm: Flask, tmp_path: Path, content: Any, message: str
) -> None:
    before = dump(crm)
    candidate = tmp_path / "candidate.sqlite3"
    if isinstance(content, bytes):
        candidate.write_bytes(content)
    elif content is None:
        with sqlite3.connect(candidate) as conn:
            conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
    elif content == "unknown-revision":
        assert run(crm, "backup", "create", "-o", str(candidate)).exit_code == 0
        with sqlite3.connect(candidate) as conn:
            conn.execute("UPDATE alembic_version SET version_num = 'feedfacecafe'")

    result = run(crm, "backup", "restore", str(candidate), "--yes")

    assert result.exit_code != 0
    assert message in result.output
    assert dump(crm) == before


def test_restore_of_an_older_revision_asks_for_an_upgrade(crm: Flask, tmp_path: Path) -> None:
    old = file_app(tmp_path / "old.sqlite3")
    with old.app_context():
        upgrade(directory=MIGRATIONS, revision="de28e98df71b")
        db.engine.dispose()
    result = run(crm, "backup", "restore", str(tmp_path / "old.sqlite3"), "--yes")
    assert result.exit_code == 0, result.output
    assert "请运行 flask db upgrade" in result.output


def test_restore_asks_before_replacing(crm: Flask, tmp_path: Path) -> None:
    backup = tmp_path / "backup.sqlite3"
    run(crm, "backup", "create", "-o", str(backup))
    with crm.app_context():
        result = crm.test_cli_runner().invoke(args=["backup", "restore", str(backup)], input="n\n")
    assert result.exit_code != 0
    assert "确定继续吗" in result.output


def test_postgresql_is_refused_with_a_pointer_to_pg_dump(tmp_path: Path) -> None:
    app = create_app("testing", SQLALCHEMY_DATABASE_URI="postgresql+psycopg://crm@127.0.0.1:1/crm")
    for args in (["create"], ["restore", str(tmp_path / "x.sqlite3"), "--yes"]):
        result = app.test_cli_runner().invoke(args=["backup", *args])
        assert result.exit_code != 0
        assert "PostgreSQL 请用 pg_dump 备份、pg_restore 恢复" in result.output
