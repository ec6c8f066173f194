"""`flask users create`: the password comes from standard input, never from the command line."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.auth.cli import create_user_command
from app.auth.models import Role, User
from app.auth.services import authenticate

PASSWORD = "Secr3t-pass"


@pytest.fixture
def parks(session: Any, world: Any) -> Any:
    """The world, committed to the test's savepoint so that a failed command's rollback keeps it."""
    session.commit()
    return world


def _users(session: Any) -> int:
    return session.scalar(select(func.count()).select_from(User))


def _create(runner: Any, *args: str, password: str | None = PASSWORD) -> Any:
    stdin = None if password is None else password + "\n"
    return runner.invoke(args=["users", "create", *args], input=stdin)


def _user(session: Any, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def test_create_a_park_manager_with_the_password_from_stdin(
    runner: Any, session: Any, parks: Any
) -> None:
    result = _create(runner, "chen", "--role", "manager", "--park", "IC", "--full-name", "陈主任")

    assert result.exit_code == 0, result.output
    assert "已创建用户 chen（园区负责人）" in result.output
    assert PASSWORD not in result.output
    user = _user(session, "chen")
    assert user is not None
    assert user.role is Role.MANAGER
    assert user.full_name == "陈主任"
    assert [p.code for p in user.parks] == ["IC"]
    assert user.password_hash.startswith("$argon2id$")
    assert authenticate(session, "chen", PASSWORD) is user


def test_create_a_manager_of_several_parks(runner: Any, session: Any, parks: Any) -> None:
    result = _create(runner, "chen", "--role", "manager", "--park", "ic", "--park", "DISPLAY")

    assert result.exit_code == 0, result.output
    assert {p.code for p in _user(session, "chen").parks} == {"IC", "DISPLAY"}


def test_windows_line_endings_are_not_part_of_the_password(
    runner: Any, session: Any, parks: Any
) -> None:
    result = runner.invoke(
        args=["users", "create", "admin2", "--role", "admin"], input=PASSWORD + "\r\n"
    )

    assert result.exit_code == 0, result.output
    user = _user(session, "admin2")
    assert user.full_name == "admin2"
    assert authenticate(session, "admin2", PASSWORD) is user


def test_the_action_is_audited_as_coming_from_the_command_line(
    runner: Any, session: Any, parks: Any
) -> None:
    from app.core.audit import AuditLog

    assert _create(runner, "chen", "--role", "officer").exit_code == 0

    user = _user(session, "chen")
    row = session.scalar(
        select(AuditLog).where(
            AuditLog.entity == "user", AuditLog.entity_id == user.id, AuditLog.action == "create"
        )
    )
    assert row is not None
    assert row.source == "cli"
    assert row.actor_id is None


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["chen", "--role", "officer"], "short1", "密码至少需要8位。"),
        (["chen", "--role", "officer"], "12345678", "密码须同时包含字母和数字（或符号）。"),
        (["chen", "--role", "officer"], None, "密码至少需要8位。"),
        (["chen", "--role", "manager", "--park", "MARINE"], PASSWORD, "未知的园区代码：MARINE"),
        (
            ["chen", "--role", "manager", "--park", "IC", "--park", "XX"],
            PASSWORD,
            "未知的园区代码：XX",
        ),
        (["chen", "--role", "manager"], PASSWORD, "园区负责人至少需要负责一个园区。"),
        (
            ["chen", "--role", "officer", "--park", "IC"],
            PASSWORD,
            "只有园区负责人（manager）负责园区，招商专员不能指定 --park。",
        ),
        (
            ["chen", "--role", "leader", "--park", "IC"],
            None,
            "只有园区负责人（manager）负责园区，领导不能指定 --park。",
        ),
        (["officer", "--role", "officer"], PASSWORD, "用户名“officer”已被使用。"),
        (["OFFICER", "--role", "admin"], PASSWORD, "用户名“OFFICER”已被使用。"),
    ],
)
def test_refusals_are_explained_and_create_nothing(
    runner: Any, session: Any, parks: Any, args: list[str], password: str | None, message: str
) -> None:
    before = _users(session)

    result = _create(runner, *args, password=password)

    assert result.exit_code == 1
    assert f"Error: {message}" in result.output
    assert _users(session) == before
    assert _user(session, "chen") is None
    assert session.scalar(select(func.count()).select_from(type(parks.park_a))) == 2


def test_an_unknown_role_is_refused(runner: Any, session: Any, parks: Any) -> None:
    before = _users(session)

    result = _create(runner, "chen", "--role", "boss")

    assert result.exit_code == 2
    assert "--role" in result.output
    assert _users(session) == before


@pytest.mark.parametrize(
    "args",
    [
        ["chen", "--role", "officer", "--password", PASSWORD],
        ["chen", "--role", "officer", "-p", PASSWORD],
        ["chen", PASSWORD, "--role", "officer"],
    ],
)
def test_the_password_is_never_accepted_as_an_argument(
    runner: Any, session: Any, parks: Any, args: list[str]
) -> None:
    before = _users(session)

    result = _create(runner, *args)

    assert result.exit_code == 2
    assert _users(session) == before


def test_the_command_has_no_password_parameter() -> None:
    names = {p.name for p in create_user_command.params}
    flags = {opt for p in create_user_command.params for opt in p.opts}

    assert "password" not in names
    assert not any("pass" in flag for flag in flags)
