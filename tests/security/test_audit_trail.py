"""Every change is in the audit log with who, when and what; the log cannot be changed.

Imports are proven in tests/ledger/test_import.py (source "import"), the demo loader in
tests/demo/test_demo.py, the API in tests/api/test_tokens.py (source "api").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DatabaseError

from app.core.audit import AuditImmutableError, AuditLog
from app.core.db import utcnow
from app.enterprises.models import Enterprise
from tests.factories import credit_code


def entries(session: Any, entity: str, entity_id: int) -> list[AuditLog]:
    return list(
        session.scalars(
            select(AuditLog)
            .where(AuditLog.entity == entity, AuditLog.entity_id == entity_id)
            .order_by(AuditLog.id)
        )
    )


def test_a_web_change_records_who_when_and_what(login_as: Any, session: Any, world: Any) -> None:
    before = utcnow() - dt.timedelta(seconds=1)
    client = login_as(world.officer)
    code = credit_code(777)
    client.post(
        "/enterprises/new",
        data={"name": "青岛芯恒半导体有限公司", "credit_code": code, "industry": "芯片设计"},
    )
    enterprise = session.scalars(select(Enterprise).where(Enterprise.credit_code == code)).one()
    response = client.post(
        f"/enterprises/{enterprise.id}/edit",
        data={"name": "青岛芯恒半导体股份有限公司", "credit_code": code,
              "industry": "芯片设计", "ownership": "", "version": str(enterprise.version)},
    )  # fmt: skip
    assert response.status_code == 302

    rows = entries(session, "enterprise", enterprise.id)
    assert [r.action for r in rows][:1] == ["create"]
    change = next(r for r in rows if r.action == "update" and r.field == "name")
    assert (change.old_value, change.new_value) == (
        "青岛芯恒半导体有限公司",
        "青岛芯恒半导体股份有限公司",
    )
    for row in rows:
        assert row.actor_id == world.officer.id
        assert row.source == "web"
        assert before <= row.at <= utcnow()


def test_a_command_records_its_channel(runner: Any, session: Any, world: Any) -> None:
    result = runner.invoke(
        args=["users", "create", "sunli", "--role", "leader"], input="Haixi-2026\n"
    )
    assert result.exit_code == 0, result.output
    user_id = session.scalar(text("SELECT id FROM \"user\" WHERE username = 'sunli'"))
    rows = entries(session, "user", user_id)
    assert rows and {(r.source, r.actor_id) for r in rows} == {("cli", None)}


def test_an_admin_password_reset_leaves_a_trace_but_no_hash(
    login_as: Any, session: Any, world: Any
) -> None:
    client = login_as(world.admin)
    client.post(f"/admin/users/{world.officer.id}/password", data={"password": "Neu-Passw0rt"})
    rows = entries(session, "user", world.officer.id)
    assert [(r.field, r.actor_id, r.source) for r in rows if r.action == "update"] == [
        ("session_version", world.admin.id, "web")
    ]
    assert not any("argon2" in (r.new_value or "") + (r.old_value or "") for r in rows)


# --- the log cannot be changed ---------------------------------------------------------------


@pytest.fixture
def logged(session: Any, world: Any) -> AuditLog:
    world.officer.full_name = "张专员（改）"
    session.flush()
    return entries(session, "user", world.officer.id)[-1]


def test_no_route_edits_or_deletes_the_audit_log(app: Flask) -> None:
    rules = [r for r in app.url_map.iter_rules() if "audit" in r.rule or "audit" in r.endpoint]
    assert all(r.methods <= {"GET", "HEAD", "OPTIONS"} for r in rules), rules


def test_the_orm_refuses_to_change_a_row(session: Any, logged: AuditLog) -> None:
    logged.new_value = "forged"
    with pytest.raises(AuditImmutableError):
        session.flush()


def test_the_orm_refuses_to_delete_a_row(session: Any, logged: AuditLog) -> None:
    session.delete(logged)
    with pytest.raises(AuditImmutableError):
        session.flush()


@pytest.mark.parametrize(
    "statement",
    [
        lambda row_id: update(AuditLog).where(AuditLog.id == row_id).values(new_value="forged"),
        lambda row_id: update(AuditLog).where(AuditLog.id == row_id).values(actor_id=None,
                                                                            field="x"),
        lambda row_id: delete(AuditLog).where(AuditLog.id == row_id),
        lambda row_id: delete(AuditLog),
    ],
    ids=["update", "update-with-actor", "delete", "delete-all"],
)  # fmt: skip
def test_the_database_refuses_to_change_or_delete_a_row(
    session: Any, logged: AuditLog, statement: Any
) -> None:
    """Even SQL that bypasses the ORM (another program, a console) is refused by a trigger."""
    with pytest.raises(DatabaseError, match="append-only"), session.begin_nested():
        session.execute(statement(logged.id), execution_options={"synchronize_session": False})
    session.expire_all()
    assert session.get(AuditLog, logged.id).new_value == "张专员（改）"


def test_the_database_refuses_truncate(session: Any, logged: AuditLog) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("TRUNCATE exists on PostgreSQL only")
    with pytest.raises(DatabaseError, match="append-only"), session.begin_nested():
        session.execute(text("TRUNCATE audit_log"))


def test_deleting_a_user_only_clears_the_actor(session: Any, world: Any) -> None:
    """The one update the guard lets through: the foreign key's ON DELETE SET NULL."""
    from tests.factories import UserFactory

    temp = UserFactory(username="temp")
    session.flush()
    from app.core.audit import set_actor

    set_actor(session, temp.id, "web")
    world.leader.full_name = "刘局长（改）"
    session.flush()
    row = entries(session, "user", world.leader.id)[-1]
    assert row.actor_id == temp.id
    set_actor(session, None, "system")

    session.execute(text('DELETE FROM "user" WHERE id = :id'), {"id": temp.id})
    session.expire_all()

    row = session.get(AuditLog, row.id)
    assert row.actor_id is None
    assert (row.field, row.new_value) == ("full_name", "刘局长（改）")


# --- a deletion loses nothing -----------------------------------------------------------------


def test_a_deleted_row_leaves_its_values_and_its_id_to_no_one(session: Any, world: Any) -> None:
    """The audit log keeps every value a deleted row held, and no later row takes its id (on
    SQLite the tables users delete from are AUTOINCREMENT), so that one id's rows stay one
    row's history."""
    from tests.factories import EnterpriseContactFactory, EnterpriseFactory

    enterprise = EnterpriseFactory()
    person = EnterpriseContactFactory(
        enterprise=enterprise, name="王经理", phone="13800000000", title="投资总监"
    )
    session.flush()
    gone = person.id
    session.delete(person)
    session.flush()

    rows = entries(session, "enterprise_contact", gone)
    assert [(r.action, r.field) for r in rows][:2] == [("create", None), ("delete", None)]
    kept = {r.field: r.old_value for r in rows[2:]}
    assert kept["name"] == "王经理" and kept["phone"] == "13800000000"
    assert kept["enterprise_id"] == str(enterprise.id)
    assert all(r.action == "delete" and r.new_value is None for r in rows[2:])

    successor = EnterpriseContactFactory(enterprise=enterprise, name="李助理")
    session.flush()
    assert successor.id > gone
