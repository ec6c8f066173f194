"""Account services: hashing, authentication, the password policy and the account rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from sqlalchemy import func, select

from app.auth import services as auth_services
from app.auth.models import Role, User
from app.auth.services import (
    AccountError,
    authenticate,
    check_password_policy,
    create_user,
    hash_password,
    set_password,
    update_user,
)
from tests.factories import PASSWORD, UserFactory


@pytest.fixture(autouse=True)
def _request(app: Flask, session: Any) -> Iterator[None]:
    """Messages are produced for a page; render them in the default (Chinese) locale."""
    with app.test_request_context("/"):
        yield


def _users(session: Any) -> int:
    return session.scalar(select(func.count()).select_from(User))


# --- hashing ----------------------------------------------------------------------------------


def test_hash_password_uses_argon2id_with_a_salt() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)

    assert first.startswith("$argon2id$")
    assert first != second
    assert PASSWORD not in first
    assert PasswordHasher().verify(first, PASSWORD)


# --- authenticate -----------------------------------------------------------------------------


def test_authenticate_with_the_right_password(session: Any, world: Any) -> None:
    assert authenticate(session, "officer", PASSWORD) is world.officer


def test_authenticate_refuses_a_wrong_password(session: Any, world: Any) -> None:
    assert authenticate(session, "officer", PASSWORD + "x") is None
    assert authenticate(session, "officer", "") is None


def test_authenticate_refuses_an_unknown_user(session: Any, world: Any) -> None:
    assert authenticate(session, "nobody", PASSWORD) is None


def test_authenticate_refuses_an_inactive_user(session: Any, world: Any) -> None:
    world.officer.active = False
    session.flush()

    assert authenticate(session, "officer", PASSWORD) is None


@pytest.mark.parametrize("typed", ["OFFICER", "Officer", "  officer  "])
def test_authenticate_ignores_case_and_surrounding_spaces_in_the_username(
    session: Any, world: Any, typed: str
) -> None:
    assert authenticate(session, typed, PASSWORD) is world.officer


def test_authenticate_refuses_a_corrupt_hash(session: Any) -> None:
    user = UserFactory(username="broken", password_hash="not-a-hash")

    assert authenticate(session, user.username, PASSWORD) is None


def test_an_outdated_hash_is_upgraded_on_login(session: Any) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1)
    old_hash = weak.hash(PASSWORD)
    user = UserFactory(username="legacy", password_hash=old_hash)
    current = auth_services.current_hasher()
    assert current.check_needs_rehash(old_hash)

    assert authenticate(session, "legacy", PASSWORD) is user

    assert user.password_hash != old_hash
    assert user.password_hash.startswith("$argon2id$")
    assert not current.check_needs_rehash(user.password_hash)
    assert current.verify(user.password_hash, PASSWORD)


def test_an_outdated_hash_is_kept_when_the_password_is_wrong(session: Any) -> None:
    old_hash = PasswordHasher(time_cost=1).hash(PASSWORD)
    user = UserFactory(username="legacy", password_hash=old_hash)

    assert authenticate(session, "legacy", "wrong-passw0rd") is None

    assert user.password_hash == old_hash


def test_a_current_hash_is_not_rewritten(session: Any, world: Any) -> None:
    before = world.officer.password_hash

    authenticate(session, "officer", PASSWORD)

    assert world.officer.password_hash == before


# --- password policy --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "密码至少需要8位。"),
        ("Ab1", "密码至少需要8位。"),
        ("Abcdef1", "密码至少需要8位。"),
        ("12345678", "密码须同时包含字母和数字（或符号）。"),
        ("abcdefgh", "密码须同时包含字母和数字（或符号）。"),
        ("密码密码密码密码", "密码须同时包含字母和数字（或符号）。"),
    ],
)
def test_the_password_policy_explains_in_chinese(password: str, message: str) -> None:
    with pytest.raises(AccountError) as info:
        check_password_policy(password)

    assert info.value.message == message
    assert info.value.field == "password"


@pytest.mark.parametrize("password", ["Secr3t-pass", "abcdefg1", "abcdefg!", "长城永远-2023"])
def test_the_password_policy_accepts_mixed_passwords(password: str) -> None:
    check_password_policy(password)


def test_set_password_checks_the_policy_and_rehashes(session: Any, world: Any) -> None:
    before = world.officer.password_hash
    with pytest.raises(AccountError):
        set_password(world.officer, "short")
    assert world.officer.password_hash == before

    set_password(world.officer, "N3w-password")

    assert authenticate(session, "officer", "N3w-password") is world.officer
    assert authenticate(session, "officer", PASSWORD) is None


# --- create_user ------------------------------------------------------------------------------


def test_create_user_makes_a_park_manager(session: Any, world: Any) -> None:
    user = create_user(
        session,
        username="  chen ",
        full_name="陈主任",
        role=Role.MANAGER,
        password="Secr3t-pass",
        park_codes=["ic", " DISPLAY "],
        email="",
    )

    assert user.id is not None
    assert user.username == "chen"
    assert user.active is True
    assert user.email is None
    assert {p.code for p in user.parks} == {"IC", "DISPLAY"}
    assert user.password_hash.startswith("$argon2id$")
    assert authenticate(session, "chen", "Secr3t-pass") is user


def test_create_user_defaults_the_full_name_to_the_username(session: Any) -> None:
    user = create_user(
        session, username="wu", full_name=" ", role=Role.OFFICER, password="Secr3t-pass"
    )

    assert user.full_name == "wu"


def test_create_user_ignores_parks_for_other_roles(session: Any, world: Any) -> None:
    user = create_user(
        session,
        username="zhou",
        full_name="周专员",
        role=Role.OFFICER,
        password="Secr3t-pass",
        park_codes=["IC"],
    )

    assert user.parks == []


@pytest.mark.parametrize("name", ["officer", "OFFICER", " Officer "])
def test_create_user_refuses_a_duplicate_username(session: Any, world: Any, name: str) -> None:
    before = _users(session)

    with pytest.raises(AccountError) as info:
        create_user(
            session, username=name, full_name="重名", role=Role.OFFICER, password="Secr3t-pass"
        )

    assert info.value.message == f"用户名“{name.strip()}”已被使用。"
    assert info.value.field == "username"
    assert _users(session) == before


def test_create_user_refuses_an_empty_username(session: Any) -> None:
    with pytest.raises(AccountError) as info:
        create_user(
            session, username="  ", full_name="无名", role=Role.OFFICER, password="Secr3t-pass"
        )

    assert info.value.message == "用户名不能为空。"


def test_create_user_refuses_a_manager_without_parks(session: Any, world: Any) -> None:
    before = _users(session)

    with pytest.raises(AccountError) as info:
        create_user(
            session, username="chen", full_name="陈主任", role=Role.MANAGER, password="Secr3t-pass"
        )

    assert info.value.message == "园区负责人至少需要负责一个园区。"
    assert info.value.field == "parks"
    assert _users(session) == before


def test_create_user_names_the_unknown_park_codes(session: Any, world: Any) -> None:
    before = _users(session)

    with pytest.raises(AccountError) as info:
        create_user(
            session,
            username="chen",
            full_name="陈主任",
            role=Role.MANAGER,
            password="Secr3t-pass",
            park_codes=["IC", "zz", "MARINE"],
        )

    assert info.value.message == "未知的园区代码：MARINE、ZZ"
    assert info.value.field == "parks"
    assert _users(session) == before


def test_create_user_applies_the_password_policy(session: Any) -> None:
    before = _users(session)

    with pytest.raises(AccountError) as info:
        create_user(
            session, username="chen", full_name="陈主任", role=Role.OFFICER, password="12345678"
        )

    assert info.value.field == "password"
    assert _users(session) == before


# --- update_user ------------------------------------------------------------------------------


def _update(session: Any, user: User, acting: User, **changes: Any) -> User:
    fields: dict[str, Any] = {
        "full_name": user.full_name,
        "role": user.role,
        "parks": list(user.parks),
        "email": user.email,
        "phone": user.phone,
        "active": user.active,
        "acting": acting,
    }
    fields.update(changes)
    return update_user(session, user, **fields)


@pytest.mark.parametrize(
    "changes", [{"role": Role.OFFICER}, {"role": Role.LEADER}, {"active": False}]
)
def test_an_admin_cannot_demote_or_disable_himself(
    session: Any, world: Any, changes: dict[str, Any]
) -> None:
    with pytest.raises(AccountError) as info:
        _update(session, world.admin, world.admin, **changes)

    assert info.value.message == "不能取消自己的管理员身份或停用自己的账号。"
    assert world.admin.role is Role.ADMIN
    assert world.admin.active is True


def test_an_admin_can_change_another_admin(session: Any, world: Any) -> None:
    other = UserFactory(username="admin2", role=Role.ADMIN)

    _update(session, other, world.admin, role=Role.LEADER, active=False)

    assert other.role is Role.LEADER
    assert other.active is False


def test_update_user_refuses_a_manager_without_parks(session: Any, world: Any) -> None:
    with pytest.raises(AccountError) as info:
        _update(session, world.officer, world.admin, role=Role.MANAGER, parks=[])

    assert info.value.field == "parks"
    assert world.officer.role is Role.OFFICER


def test_update_user_drops_parks_when_a_manager_becomes_an_officer(
    session: Any, world: Any
) -> None:
    _update(session, world.manager, world.admin, role=Role.OFFICER)

    assert world.manager.parks == []
