"""A real SMTP server (aiosmtpd) on localhost for the digest tests, and a database of its own
for the tests that need several real connections at once."""

from __future__ import annotations

import asyncio
import email
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app import create_app
from app.extensions import db

MIGRATIONS = str(Path(__file__).resolve().parents[2] / "migrations")


class Inbox:
    """An aiosmtpd handler that keeps what it accepts, and refuses on request."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse_next = 0
        self.refusal = "451 4.3.0 Temporary failure, try again later"
        self.refused_recipients: set[str] = set()
        self.refused_count = 0
        self.delay = 0.0
        self._lock = threading.Lock()

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refused_recipients:
            with self._lock:
                self.refused_count += 1
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            if self.refuse_next > 0:
                self.refuse_next -= 1
                self.refused_count += 1
                return self.refusal
            message = email.message_from_bytes(envelope.content, policy=policy.default)
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]

    @property
    def recipients(self) -> list[str]:
        return sorted(r for _sender, rcpts in self.envelopes for r in rcpts)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on 127.0.0.1 and a free port, storing what it accepts."""
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def inbox(app: Flask, smtp_server: tuple[Inbox, int]) -> Iterator[Inbox]:
    """The test app sends to the local SMTP server for the duration of the test."""
    box, port = smtp_server
    saved = {key: app.config[key] for key in ("MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    try:
        yield box
    finally:
        app.config.update(saved)


@pytest.fixture
def set_config(app: Flask) -> Iterator[Any]:
    """``set_config(KEY=value)`` changes the app's configuration until the test ends."""
    saved: dict[str, Any] = {}

    def _set(**values: Any) -> None:
        for key in values:
            saved.setdefault(key, app.config[key])
        app.config.update(values)

    try:
        yield _set
    finally:
        app.config.update(saved)


@pytest.fixture
def own_db_app(
    app: Flask, tmp_path: Path, smtp_server: tuple[Inbox, int]
) -> Iterator[tuple[Flask, Inbox]]:
    """A separate app on a database of its own (SQLite file, or a scratch PostgreSQL database
    when the suite runs on PostgreSQL), migrated, with real connections that really commit."""
    box, port = smtp_server
    with app.app_context():
        suite_url = db.engine.url
    server = None
    name = None
    if suite_url.get_backend_name() == "postgresql":
        name = f"crm_digests_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        server = create_engine(suite_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = suite_url.set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path / 'digests.sqlite3'}"
    own = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=url,
        MIGRATIONS_DIR=MIGRATIONS,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
    )
    try:
        with own.app_context():
            upgrade(directory=MIGRATIONS)
        yield own, box
    finally:
        with own.app_context():
            db.session.remove()
            db.engine.dispose()
        if server is not None:
            with server.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            server.dispose()
