"""Faults: the database lost in the middle of a request, and the digest scheduler killed in the
middle of a run and started again.

SMTP failures during digests (retries, no loss, no duplicate) and a crashed sender resumed after
its lease are proven in tests/digests/test_delivery.py; an import interrupted half-way in
tests/ledger/test_import.py.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app import create_app
from app.auth.models import Role, User
from app.auth.services import hash_password
from app.core.audit import AuditLog
from app.digests.models import DeliveryStatus, DigestDelivery
from app.enterprises.models import Enterprise
from app.enterprises.names import normalize_name
from app.extensions import db
from tests.digests.conftest import Inbox, _free_port
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = str(ROOT / "migrations")
UNAVAILABLE = "数据库暂时无法访问，您的操作没有保存。请稍后重试。"


@pytest.fixture
def own_database(app: Flask, tmp_path: Path) -> Iterator[str]:
    """The URL of a migrated database of its own, on the suite's engine (SQLite file or a
    scratch PostgreSQL database), where commits are real."""
    with app.app_context():
        suite_url = db.engine.url
    if suite_url.get_backend_name() != "postgresql":
        url = f"sqlite:///{tmp_path / 'faults.sqlite3'}"
        server = name = None
    else:
        name = f"crm_faults_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        server = create_engine(suite_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = suite_url.set(database=name).render_as_string(hide_password=False)
    own = create_app("testing", SQLALCHEMY_DATABASE_URI=url, MIGRATIONS_DIR=MIGRATIONS)
    with own.app_context():
        upgrade(directory=MIGRATIONS)
        db.engine.dispose()
    try:
        yield url
    finally:
        if server is not None:
            with server.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            server.dispose()


@pytest.fixture
def crm(own_database: str) -> Iterator[Flask]:
    """An application on its own database with an officer and an enterprise, committed."""
    own = create_app("testing", SQLALCHEMY_DATABASE_URI=own_database, MIGRATIONS_DIR=MIGRATIONS)
    with own.app_context():
        db.session.add(
            User(username="officer", full_name="张专员", role=Role.OFFICER,
                 password_hash=hash_password(PASSWORD), active=True)
        )  # fmt: skip
        db.session.add(
            Enterprise(
                name="青岛芯恒半导体有限公司", name_key=normalize_name("青岛芯恒半导体有限公司")
            )
        )
        db.session.commit()
        db.session.remove()
    yield own
    with own.app_context():
        db.session.remove()
        db.engine.dispose()


def state(app: Flask) -> tuple[str, int]:
    """The enterprise's name and the number of audit rows, read on a fresh connection."""
    with app.app_context():
        engine = create_engine(db.engine.url, poolclass=NullPool)
        with Session(engine) as s:
            name = s.scalar(select(Enterprise.name))
            audit = len(s.scalars(select(AuditLog.id)).all())
        engine.dispose()
    return name, audit


@pytest.fixture
def after_first_flush() -> Iterator[Callable[[Callable[[Session], None]], None]]:
    """``after_first_flush(action)`` runs *action(session)* once, right after the next flush
    (the request's changes and their audit rows are written, not yet committed)."""
    armed: list[Callable[[Session], None]] = []

    def _listener(session: Session, flush_context: Any) -> None:
        if armed:
            armed.pop()(session)

    event.listen(Session, "after_flush", _listener)
    yield armed.append
    event.remove(Session, "after_flush", _listener)


def edit(client: Any, enterprise_id: int) -> Any:
    return client.post(
        f"/enterprises/{enterprise_id}/edit",
        data={"name": "青岛芯恒半导体股份有限公司", "ownership": "", "version": "1"},
    )


def logged_in(app: Flask) -> Any:
    client = app.test_client()
    response = client.post("/login", data={"username": "officer", "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_database_connection_killed_mid_request(crm: Flask, after_first_flush: Any) -> None:
    """PostgreSQL: the request's own server process is terminated (as by a database restart)
    after its changes were flushed; nothing is saved, the page says so, the next request works.
    Only this backend is killed: other suites share the server."""
    with crm.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("pg_terminate_backend needs PostgreSQL; SQLite: see the lock test")
        killer = create_engine(db.engine.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    before = state(crm)
    client = logged_in(crm)
    enterprise_id = 1

    def terminate_own_backend(session: Session) -> None:
        pid = session.connection().execute(text("SELECT pg_backend_pid()")).scalar()
        with killer.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()

    after_first_flush(terminate_own_backend)
    response = edit(client, enterprise_id)
    killer.dispose()

    assert response.status_code == 503
    assert UNAVAILABLE in response.get_data(as_text=True)
    assert state(crm) == before
    # The server goes on: a fresh connection serves the next request, and the edit succeeds.
    assert client.get(f"/enterprises/{enterprise_id}").status_code == 200
    assert edit(client, enterprise_id).status_code == 302
    assert state(crm)[0] == "青岛芯恒半导体股份有限公司"


def test_database_file_locked_mid_request(crm: Flask) -> None:
    """SQLite: another process holds the file's write lock; the request waits its busy timeout,
    then answers 503 with nothing saved; once the lock is gone the same edit succeeds."""
    with crm.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("a file lock is a SQLite fault; PostgreSQL: see the terminate test")
        path = db.engine.url.database
    before = state(crm)
    client = logged_in(crm)
    blocker = sqlite3.connect(path, isolation_level=None, timeout=1)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        response = edit(client, 1)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    assert response.status_code == 503
    assert UNAVAILABLE in response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "30"
    assert state(crm) == before
    assert edit(client, 1).status_code == 302
    assert state(crm)[0] == "青岛芯恒半导体股份有限公司"


def test_a_statement_error_is_not_mistaken_for_an_outage() -> None:
    """A bug (an integrity or programming error) stays a 500, not a 'try again later'."""
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

    from app.core.errors import database_unavailable

    assert not database_unavailable(IntegrityError("INSERT", {}, Exception("duplicate")))
    assert not database_unavailable(ProgrammingError("SELECT", {}, Exception("syntax")))
    assert database_unavailable(OperationalError("SELECT", {}, Exception("database is locked")))


# --- the mail server down ---------------------------------------------------------------------


def test_smtp_down_then_back_each_digest_is_sent_once(app: Flask, session: Any, world: Any) -> None:
    """Nothing listens on the mail port: every digest waits for a retry, none is lost; once
    the server is back the retries send each one once, and another run sends nothing."""
    import datetime as dt

    from aiosmtpd.controller import Controller

    from app.digests.delivery import process_due, send_week
    from app.digests.weeks import IsoWeek

    users = [world.officer, world.manager, world.leader, world.admin]
    for user in users:
        user.email = f"{user.username}@crm.test"
    session.flush()
    week = IsoWeek.last_completed()
    port = _free_port()
    keys = ("MAIL_SERVER", "MAIL_PORT", "MAIL_TIMEOUT", "DIGEST_RETRY_BASE_SECONDS")
    saved = {k: app.config[k] for k in keys}
    # A minute's back-off, as in production: the run leaves the rows waiting for the retry job.
    app.config.update(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=2, DIGEST_RETRY_BASE_SECONDS=60
    )
    try:
        now = dt.datetime.now(dt.UTC)
        down = send_week(session, week, now=now)
        assert down.sent == 0
        session.expire_all()
        rows = session.scalars(select(DigestDelivery)).all()
        assert len(rows) == len(users)
        assert {r.status for r in rows} == {DeliveryStatus.PENDING}
        assert all(r.attempts == 1 and "Connection refused" in r.last_error for r in rows)

        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            later = now + dt.timedelta(hours=1)
            assert process_due(session, now=later).sent == len(users)
            assert process_due(session, now=later + dt.timedelta(hours=1)).sent == 0
            assert send_week(session, week, now=later).sent == 0
        finally:
            controller.stop()
    finally:
        app.config.update(saved)

    assert inbox.recipients == sorted(u.email for u in users)
    session.expire_all()
    assert {r.status for r in session.scalars(select(DigestDelivery))} == {DeliveryStatus.SENT}


# --- the scheduler killed mid-run ------------------------------------------------------------


class SlowInbox(Inbox):
    """Accepts each message only after a pause; a sender killed during the pause loses its
    connection, and aiosmtpd cancels the message (never answered "250", never delivered)."""


def _scheduler(db_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "DATABASE_"))}
    env.update(
        APP_ENV="testing",
        TEST_DATABASE_URL=db_url,
        MAIL_PORT=str(port),
        DIGEST_CLAIM_LEASE_SECONDS="2",
        DIGEST_RETRY_POLL_SECONDS="1",
        FLASK_APP="wsgi",
    )
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "digests", "scheduler"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _statuses(path: str) -> list[str]:
    with sqlite3.connect(path, timeout=10) as conn:
        return [r[0] for r in conn.execute("SELECT status FROM digest_delivery ORDER BY id")]


def _wait(condition: Callable[[], bool], seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}; scheduler log:\n{log.read_text(errors='replace')}")


def test_the_scheduler_killed_mid_run_and_restarted_sends_each_digest_once(
    tmp_path: Path,
) -> None:
    from aiosmtpd.controller import Controller

    path = str(tmp_path / "scheduler.sqlite3")
    url = f"sqlite:///{path}"
    own = create_app("testing", SQLALCHEMY_DATABASE_URI=url, MIGRATIONS_DIR=MIGRATIONS)
    with own.app_context():
        upgrade(directory=MIGRATIONS)
        for n in range(6):
            db.session.add(
                User(username=f"u{n}", full_name=f"用户{n}", email=f"u{n}@crm.test",
                     role=(Role.OFFICER, Role.MANAGER, Role.LEADER, Role.ADMIN)[n % 4],
                     password_hash="x", active=True)
            )  # fmt: skip
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    inbox = SlowInbox()
    inbox.delay = 1.5
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    log = tmp_path / "scheduler.log"
    first = _scheduler(url, port, log)
    try:
        # Two digests delivered and recorded, the third one on the wire: kill -9.
        _wait(
            lambda: len(inbox.messages) >= 2 and _statuses(path).count("sent") >= 2
            and "sending" in _statuses(path),
            90, "the first run to be half-way", log,
        )  # fmt: skip
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        at_kill = _statuses(path)
        assert at_kill.count("sending") == 1
        assert len(inbox.messages) == at_kill.count("sent") < 6

        inbox.delay = 0.0
        time.sleep(2.5)  # the killed run's claim expires (DIGEST_CLAIM_LEASE_SECONDS=2)
        second = _scheduler(url, port, log)
        try:
            _wait(lambda: _statuses(path) == ["sent"] * 6, 90, "every digest to be sent", log)
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(timeout=30)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        controller.stop()

    assert inbox.recipients == [f"u{n}@crm.test" for n in range(6)]
    with own.app_context():
        rows = db.session.scalars(select(DigestDelivery)).all()
        assert {r.status for r in rows} == {DeliveryStatus.SENT}
        db.session.remove()
        db.engine.dispose()


# --- an import interrupted half-way ----------------------------------------------------------


def test_an_import_interrupted_half_way_applies_nothing(tmp_path: Path) -> None:
    """The connection fails after part of a ledger's rows were written: nothing of the import
    is in the database afterwards (one transaction), and the same file then imports whole."""
    from tests.factories import ChainFactory, ChainLinkFactory, ParkFactory, UserFactory
    from tests.ledger.conftest import build_xlsx

    url = f"sqlite:///{tmp_path / 'import.sqlite3'}"
    own = create_app("testing", SQLALCHEMY_DATABASE_URI=url, MIGRATIONS_DIR=MIGRATIONS)
    ledger = tmp_path / "台账.xlsx"
    ledger.write_bytes(build_xlsx())
    tables = ("enterprise", "lead", "project", "stage_change", "audit_log")

    def counts() -> dict[str, int]:
        engine = create_engine(url, poolclass=NullPool)
        with engine.connect() as conn:
            found = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in tables}  # noqa: S608
        engine.dispose()
        return found

    with own.app_context():
        upgrade(directory=MIGRATIONS)
        park = ParkFactory(code="IC", name="集成电路产业园")
        ParkFactory(code="DISPLAY", name="新型显示产业园")
        ChainLinkFactory(chain=ChainFactory(code="CHIP", name="芯"), name="芯片设计")
        UserFactory(username="officer", full_name="张专员", role=Role.MANAGER, parks=[park])
        db.session.commit()
        db.session.remove()
    before = counts()

    inserts: list[str] = []

    def fail_half_way(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            inserts.append(statement)
            if len(inserts) == 4:
                raise sqlite3.OperationalError("disk I/O error (injected half-way)")

    with own.app_context():
        event.listen(db.engine, "before_cursor_execute", fail_half_way)
        try:
            result = own.test_cli_runner().invoke(
                args=["ledger", "import", str(ledger), "--as", "officer"]
            )
        finally:
            event.remove(db.engine, "before_cursor_execute", fail_half_way)
            db.session.remove()  # what the end of the process does: the transaction is gone
            db.engine.dispose()
    assert result.exit_code != 0
    assert len(inserts) == 4, "the failure came after rows had been written"
    assert counts() == before

    with own.app_context():
        result = own.test_cli_runner().invoke(
            args=["ledger", "import", str(ledger), "--as", "officer"]
        )
        db.session.remove()
        db.engine.dispose()
    assert result.exit_code == 0, result.output
    after = counts()
    assert after["lead"] > before["lead"] and after["project"] > before["project"]
