"""The minimum password policy, and every place that sets a password applies it."""

from __future__ import annotations

from typing import Any

import pytest
from flask import g

from app.auth.services import AccountError, check_password_policy
from tests.factories import PASSWORD


@pytest.mark.parametrize(
    ("password", "username", "message"),
    [
        ("!!!!????", None, "密码须同时包含字母和数字（或符号）。"),
        ("Qwer1234", None, "这个密码太常见，容易被猜中，请换一个。"),
        ("ADMIN@123", None, "这个密码太常见，容易被猜中，请换一个。"),
        ("x" * 64 + "1" * 65, None, "密码不能超过128位。"),
        ("Zhangwei-2026", "zhangwei", "密码不能包含用户名。"),
    ],
)
def test_the_policy_refuses_weak_passwords(
    password: str, username: str | None, message: str
) -> None:
    with pytest.raises(AccountError) as caught:
        check_password_policy(password, username)
    assert caught.value.message == message
    assert caught.value.field == "password"


@pytest.mark.parametrize(
    ("password", "username"),
    [("Haixi-2026", "li"), ("招商引资2026年", "wangwei"), ("correct horse 7", None)],
)
def test_the_policy_accepts_reasonable_passwords(password: str, username: str | None) -> None:
    check_password_policy(password, username)


def test_the_admin_user_form_applies_the_policy(login_as: Any, world: Any) -> None:
    client = login_as(world.admin)
    response = client.post(
        "/admin/users/new",
        data={"username": "chenjing", "full_name": "陈静", "role": "officer",
              "password": "Chenjing1"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "密码不能包含用户名。" in response.get_data(as_text=True)


def test_the_admin_password_reset_applies_the_policy(login_as: Any, world: Any) -> None:
    client = login_as(world.admin)
    response = client.post(
        f"/admin/users/{world.officer.id}/password", data={"password": "abcd1234"}
    )
    assert response.status_code == 200
    assert "这个密码太常见，容易被猜中，请换一个。" in response.get_data(as_text=True)


def test_the_profile_password_change_applies_the_policy(login_as: Any, world: Any) -> None:
    client = login_as(world.officer)
    g.pop("_login_user", None)
    response = client.post(
        "/profile",
        data={"current_password": PASSWORD, "password": "Officer-99", "confirm": "Officer-99"},
    )
    assert response.status_code == 200
    assert "密码不能包含用户名。" in response.get_data(as_text=True)


def test_the_users_create_command_applies_the_policy(runner: Any, world: Any) -> None:
    result = runner.invoke(
        args=["users", "create", "chenjing", "--role", "officer"], input="1q2w3e4r\n"
    )
    assert result.exit_code != 0
    assert "这个密码太常见，容易被猜中，请换一个。" in result.output
