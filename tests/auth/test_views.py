"""Login, logout, safe redirects, the profile page and the admin's user pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask_babel import refresh
from sqlalchemy import func, select

from app.auth.models import Role, User
from app.auth.services import authenticate
from tests.factories import PASSWORD, ParkFactory, UserFactory

STALE = "该记录已被他人修改，请刷新页面后再提交（您填写的内容已保留在表单中）。"
BAD_LOGIN = "用户名或密码错误，或账号已停用。"
ADMIN_PAGES = [
    "/admin/users",
    "/admin/users/new",
    "/admin/users/{officer}",
    "/admin/users/{officer}/password",
]


def _users(session: Any) -> int:
    return session.scalar(select(func.count()).select_from(User))


def _login(client: Any, username: str, password: str = PASSWORD, **extra: str) -> Any:
    return client.post("/login", data={"username": username, "password": password, **extra})


def _logged_in(client: Any) -> bool:
    return client.get("/profile").status_code == 200


def _user_form(user: User | None = None, **overrides: Any) -> dict[str, Any]:
    """Return what the user form posts for *user* (or for a new officer), with *overrides*."""
    data: dict[str, Any] = {
        "username": "chen",
        "full_name": "陈专员",
        "role": "officer",
        "email": "",
        "phone": "",
        "password": "Secr3t-pass",
    }
    if user is not None:
        data = {
            "username": user.username,
            "full_name": user.full_name,
            "role": user.role.value,
            "parks": [p.id for p in user.parks],
            "email": user.email or "",
            "phone": user.phone or "",
            "active": "y" if user.active else "",
            "version": str(user.version),
        }
    data.update(overrides)
    return {k: v for k, v in data.items() if v not in (None, "")}


# --- login and logout -------------------------------------------------------------------------


def test_login_page_renders_the_form_with_the_hidden_next(client: Any, session: Any) -> None:
    response = client.get("/login?next=/leads?x%3D1")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'name="username"' in page
    assert 'type="password"' in page
    assert 'name="next" type="hidden" value="/leads?x=1"' in page


@pytest.mark.parametrize(
    ("role", "home"),
    [("officer", "/my"), ("manager", "/board"), ("leader", "/leads"), ("admin", "/leads")],
)
def test_login_sends_each_role_to_its_start_page(
    client: Any, world: Any, role: str, home: str
) -> None:
    response = _login(client, role)

    assert response.status_code == 302
    assert response.headers["Location"] == home
    assert _logged_in(client)


def test_login_ignores_the_case_of_the_username(client: Any, world: Any) -> None:
    assert _login(client, "OFFICER").status_code == 302


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(
    client: Any, world: Any
) -> None:
    response = _login(client, "officer", "wrong-passw0rd")

    assert response.status_code == 200
    assert BAD_LOGIN in response.get_data(as_text=True)
    assert not _logged_in(client)
    assert BAD_LOGIN in _login(client, "nobody").get_data(as_text=True)


def test_empty_login_form_shows_chinese_messages(client: Any, session: Any) -> None:
    page = client.post("/login", data={}).get_data(as_text=True)

    assert "请填写用户名。" in page
    assert "请填写密码。" in page


def test_disabled_user_cannot_log_in(client: Any, session: Any, world: Any) -> None:
    world.officer.active = False
    session.flush()

    response = _login(client, "officer")

    assert response.status_code == 200
    assert BAD_LOGIN in response.get_data(as_text=True)
    assert not _logged_in(client)


def test_a_user_disabled_while_logged_in_is_logged_out(
    login_as: Any, session: Any, world: Any
) -> None:
    client = login_as(world.officer)
    assert _logged_in(client)

    world.officer.active = False
    session.flush()

    assert not _logged_in(client)


def test_logout_is_a_post(login_as: Any, world: Any) -> None:
    client = login_as(world.officer)

    assert client.get("/logout").status_code == 405
    assert _logged_in(client)

    response = client.post("/logout")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert not _logged_in(client)


def test_login_replaces_the_previous_session(client: Any, world: Any) -> None:
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"

    _login(client, "officer")

    with client.session_transaction() as sess:
        assert "planted" not in sess


# --- the next parameter -----------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/leads?x=1", "/profile", "/leads/3?stage=signed&page=2"])
def test_login_follows_a_local_next(client: Any, world: Any, target: str) -> None:
    response = _login(client, "officer", next=target)

    assert response.status_code == 302
    assert response.headers["Location"] == target


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/leads",
        "https://evil.example/",
        "http://crm.test.evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "leads",
        "/\tleads",
        "",
    ],
)
def test_login_refuses_a_foreign_next(client: Any, world: Any, target: str) -> None:
    response = _login(client, "officer", next=target)

    assert response.status_code == 302
    assert response.headers["Location"] == "/my"


@pytest.mark.parametrize(
    "url", ["/", "/profile", "/admin/users", "/admin/users/new", "/admin/users/1"]
)
def test_anonymous_users_are_sent_to_the_login_page(client: Any, session: Any, url: str) -> None:
    response = client.get(url)

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    if url != "/":
        assert parse_qs(location.query)["next"] == [url]


def test_login_required_round_trip_returns_to_the_page(client: Any, world: Any) -> None:
    location = client.get("/profile").headers["Location"]
    target = parse_qs(urlsplit(location).query)["next"][0]

    response = _login(client, "officer", next=target)

    assert response.headers["Location"] == "/profile"


# --- access to the admin pages ----------------------------------------------------------------


@pytest.mark.parametrize("role", ["officer", "manager", "leader"])
@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_user_pages_are_for_admins_only(login_as: Any, world: Any, role: str, url: str) -> None:
    client = login_as(getattr(world, role))
    url = url.format(officer=world.officer.id)

    assert client.get(url).status_code == 403
    assert client.post(url, data={}).status_code in (403, 405)


def test_other_roles_cannot_create_users(login_as: Any, session: Any, world: Any) -> None:
    client = login_as(world.manager)
    before = _users(session)

    response = client.post("/admin/users/new", data=_user_form(role="admin"))

    assert response.status_code == 403
    assert _users(session) == before


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_reads_the_user_pages(login_as: Any, world: Any, url: str) -> None:
    client = login_as(world.admin)

    assert client.get(url.format(officer=world.officer.id)).status_code == 200


def test_user_list_shows_roles_parks_and_actions(login_as: Any, world: Any) -> None:
    world.other_officer.active = False
    client = login_as(world.admin)

    page = client.get("/admin/users").get_data(as_text=True)

    for user in (world.officer, world.manager, world.leader, world.admin):
        assert user.username in page
        assert user.full_name in page
    assert "园区负责人" in page and "招商专员" in page and "系统管理员" in page
    assert "集成电路产业园" in page and "新型显示产业园" in page
    assert "已停用" in page
    assert f"/admin/users/{world.officer.id}/password" in page


def test_user_list_queries_do_not_grow_with_the_users(
    login_as: Any, world: Any, count_queries: Any
) -> None:
    client = login_as(world.admin)
    client.get("/admin/users")
    with count_queries() as few:
        client.get("/admin/users")
    for n in range(5):
        UserFactory(role=Role.MANAGER, parks=[ParkFactory(), world.park_a], username=f"m{n}")
    with count_queries() as many:
        client.get("/admin/users")

    assert many.count == few.count


def test_missing_user_is_404(login_as: Any, world: Any) -> None:
    client = login_as(world.admin)

    assert client.get("/admin/users/999999").status_code == 404
    assert client.get("/admin/users/999999/password").status_code == 404


# --- creating users ---------------------------------------------------------------------------


def test_admin_creates_a_park_manager(login_as: Any, session: Any, world: Any) -> None:
    client = login_as(world.admin)

    response = client.post(
        "/admin/users/new",
        data=_user_form(role="manager", full_name="陈主任", parks=[world.park_b.id]),
        follow_redirects=True,
    )

    assert "已创建账号 chen。" in response.get_data(as_text=True)
    user = session.scalar(select(User).where(User.username == "chen"))
    assert user.role is Role.MANAGER
    assert user.full_name == "陈主任"
    assert [p.code for p in user.parks] == ["DISPLAY"]
    assert authenticate(session, "chen", "Secr3t-pass") is user


def test_user_form_explains_the_parks(login_as: Any, world: Any) -> None:
    client = login_as(world.admin)

    page = client.get("/admin/users/new").get_data(as_text=True)

    assert "负责园区只对园区负责人有效" in page
    assert 'type="checkbox"' in page
    assert "集成电路产业园" in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"username": "OFFICER"}, "用户名“OFFICER”已被使用。"),
        ({"role": "manager"}, "园区负责人至少需要负责一个园区。"),
        ({"password": "short"}, "密码至少需要8位。"),
        ({"password": None}, "密码至少需要8位。"),
        ({"password": "12345678"}, "密码须同时包含字母和数字（或符号）。"),
        ({"email": "not-an-email"}, "邮箱格式不正确。"),
        ({"full_name": None}, "请填写姓名。"),
        ({"role": "boss"}, "不是有效的选择。"),
    ],
)
def test_create_user_refusals_are_explained(
    login_as: Any, session: Any, world: Any, overrides: dict[str, Any], message: str
) -> None:
    client = login_as(world.admin)
    before = _users(session)

    response = client.post("/admin/users/new", data=_user_form(**overrides))

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _users(session) == before


def test_create_user_refuses_an_unknown_park_id(login_as: Any, session: Any, world: Any) -> None:
    client = login_as(world.admin)
    before = _users(session)

    response = client.post("/admin/users/new", data=_user_form(role="manager", parks=[999999]))

    assert response.status_code == 200
    assert _users(session) == before


# --- editing users ----------------------------------------------------------------------------


def test_edit_form_shows_the_current_values(login_as: Any, world: Any) -> None:
    client = login_as(world.admin)

    page = client.get(f"/admin/users/{world.manager.id}").get_data(as_text=True)

    assert 'value="王主任"' in page
    assert f'name="version" type="hidden" value="{world.manager.version}"' in page
    assert 'name="password"' not in page
    assert "readonly" in page


def test_admin_edits_a_user(login_as: Any, session: Any, world: Any) -> None:
    client = login_as(world.admin)
    officer = world.officer
    version = officer.version

    response = client.post(
        f"/admin/users/{officer.id}",
        data=_user_form(
            officer,
            username="renamed",
            full_name="张主任",
            role="manager",
            parks=[world.park_a.id, world.park_b.id],
            phone="0532-12345678",
        ),
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    session.expire_all()
    assert officer.username == "officer"  # the username cannot be changed
    assert officer.full_name == "张主任"
    assert officer.role is Role.MANAGER
    assert {p.code for p in officer.parks} == {"IC", "DISPLAY"}
    assert officer.phone == "0532-12345678"
    assert officer.version == version + 1


def test_admin_disables_a_user(login_as: Any, session: Any, world: Any) -> None:
    client = login_as(world.admin)

    data = _user_form(world.officer)
    data.pop("active")
    assert client.post(f"/admin/users/{world.officer.id}", data=data).status_code == 302

    session.expire_all()
    assert world.officer.active is False


def test_edit_with_a_stale_version_is_refused_and_nothing_is_written(
    login_as: Any, session: Any, world: Any
) -> None:
    client = login_as(world.admin)
    officer = world.officer
    loaded = _user_form(officer, full_name="旧页面上的改动")
    officer.full_name = "别人刚改的"
    session.commit()  # someone else saved (committed) first
    assert officer.version == int(loaded["version"]) + 1

    response = client.post(f"/admin/users/{officer.id}", data=loaded)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert STALE in page
    assert 'value="旧页面上的改动"' in page  # what was typed is kept
    session.expire_all()
    assert officer.full_name == "别人刚改的"
    assert officer.version == int(loaded["version"]) + 1


def test_edit_without_a_version_is_refused(login_as: Any, session: Any, world: Any) -> None:
    client = login_as(world.admin)
    data = _user_form(world.officer, full_name="无版本")
    data.pop("version")

    response = client.post(f"/admin/users/{world.officer.id}", data=data)

    assert STALE in response.get_data(as_text=True)
    session.expire_all()
    assert world.officer.full_name == "张专员"


@pytest.mark.parametrize("overrides", [{"role": "officer"}, {"role": "leader"}, {"active": None}])
def test_an_admin_cannot_demote_or_disable_himself(
    login_as: Any, session: Any, world: Any, overrides: dict[str, Any]
) -> None:
    client = login_as(world.admin)
    admin = world.admin

    response = client.post(f"/admin/users/{admin.id}", data=_user_form(admin, **overrides))

    assert response.status_code == 200
    assert "不能取消自己的管理员身份或停用自己的账号。" in response.get_data(as_text=True)
    session.expire_all()
    assert admin.role is Role.ADMIN
    assert admin.active is True
    assert _logged_in(client)


def test_edit_refuses_a_manager_without_parks(login_as: Any, session: Any, world: Any) -> None:
    client = login_as(world.admin)

    response = client.post(
        f"/admin/users/{world.manager.id}", data=_user_form(world.manager, parks=None)
    )

    assert "园区负责人至少需要负责一个园区。" in response.get_data(as_text=True)
    session.expire_all()
    assert [p.code for p in world.manager.parks] == ["IC"]


# --- passwords --------------------------------------------------------------------------------


def _change(client: Any, current: str, new: str, confirm: str | None = None) -> Any:
    return client.post(
        "/profile",
        data={"current_password": current, "password": new, "confirm": confirm or new},
    )


def test_profile_shows_role_and_parks(login_as: Any, world: Any) -> None:
    client = login_as(world.manager)

    page = client.get("/profile").get_data(as_text=True)

    assert "园区负责人" in page
    assert "集成电路产业园" in page
    assert "新型显示产业园" not in page.split("<main", 1)[1]
    assert 'name="current_password"' in page


def test_user_changes_his_password(login_as: Any, session: Any, world: Any) -> None:
    client = login_as(world.officer)

    response = _change(client, PASSWORD, "N3w-password")

    assert response.status_code == 302
    assert "密码已修改。" in client.get("/profile").get_data(as_text=True)
    assert authenticate(session, "officer", "N3w-password") is world.officer
    assert authenticate(session, "officer", PASSWORD) is None


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("wrong-passw0rd", "N3w-password", None, "当前密码不正确。"),
        (PASSWORD, "N3w-password", "N3w-passwort", "两次输入的密码不一致。"),
        (PASSWORD, "short1", None, "密码至少需要8位。"),
        (PASSWORD, "onlyletters", None, "密码须同时包含字母和数字（或符号）。"),
    ],
)
def test_password_change_refusals(
    login_as: Any,
    session: Any,
    world: Any,
    current: str,
    new: str,
    confirm: str | None,
    message: str,
) -> None:
    client = login_as(world.officer)

    response = _change(client, current, new, confirm)

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert authenticate(session, "officer", PASSWORD) is world.officer


def test_admin_resets_a_password(login_as: Any, session: Any, world: Any) -> None:
    client = login_as(world.admin)

    response = client.post(
        f"/admin/users/{world.officer.id}/password",
        data={"password": "Reset-2023"},
        follow_redirects=True,
    )

    assert "已为 officer 设置新密码。" in response.get_data(as_text=True)
    assert authenticate(session, "officer", "Reset-2023") is world.officer
    assert authenticate(session, "officer", PASSWORD) is None


def test_password_reset_applies_the_policy(login_as: Any, session: Any, world: Any) -> None:
    client = login_as(world.admin)

    response = client.post(
        f"/admin/users/{world.officer.id}/password", data={"password": "abcdefgh"}
    )

    assert response.status_code == 200
    assert "密码须同时包含字母和数字（或符号）。" in response.get_data(as_text=True)
    assert authenticate(session, "officer", PASSWORD) is world.officer


# --- language ---------------------------------------------------------------------------------
# The tests share one app context, so `g` (where Flask-Babel caches the locale) outlives a
# request; `refresh()` forgets it as a new request would.


def test_language_switch_to_english_persists_in_the_session(client: Any, session: Any) -> None:
    response = client.post("/language/en", data={"next": "/login"})

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    with client.session_transaction() as sess:
        assert sess["lang"] == "en"
    refresh()
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)


def test_language_switch_is_remembered_for_a_logged_in_user(
    login_as: Any, session: Any, world: Any
) -> None:
    client = login_as(world.officer)

    client.post("/language/en", data={"next": "/profile"})

    session.expire_all()
    assert world.officer.locale == "en"
    refresh()
    assert '<html lang="en">' in client.get("/profile").get_data(as_text=True)


def test_language_switch_back_to_chinese(client: Any, session: Any) -> None:
    client.post("/language/en")
    client.post("/language/zh_Hans_CN")

    with client.session_transaction() as sess:
        assert sess["lang"] == "zh_Hans_CN"
    refresh()
    assert '<html lang="zh-CN">' in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/", ""])
def test_language_switch_refuses_a_foreign_next(client: Any, session: Any, target: str) -> None:
    response = client.post("/language/en", data={"next": target})

    assert response.headers["Location"] == "/"


def test_unknown_language_is_404(client: Any, session: Any) -> None:
    assert client.post("/language/xx").status_code == 404
    with client.session_transaction() as sess:
        assert "lang" not in sess


def test_the_saved_language_of_a_user_applies_after_login(
    login_as: Any, session: Any, world: Any
) -> None:
    world.officer.locale = "en"
    client = login_as(world.officer)

    refresh()
    assert '<html lang="en">' in client.get("/profile").get_data(as_text=True)
