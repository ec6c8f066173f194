"""The owner filter's typeahead: GET /owners/suggest and the service behind it."""

from __future__ import annotations

from typing import Any

import pytest

from app.auth.models import Role
from app.auth.services import SUGGEST_LIMIT, owner_ids_named, suggest_owners
from tests.factories import UserFactory


def _suggest(client: Any, q: str) -> list[dict[str, Any]]:
    response = client.get("/owners/suggest", query_string={"q": q})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()["results"]


def _names(client: Any, q: str) -> list[str]:
    return [r["name"] for r in _suggest(client, q)]


def test_matches_a_part_of_the_full_name(login_as: Any, world: Any) -> None:
    client = login_as(world.manager)

    assert set(_names(client, "专员")) == {"张专员", "李专员"}
    assert set(_names(client, "主任")) == {"王主任", "赵主任"}
    assert _names(client, "张") == ["张专员"]
    assert _names(client, "孙") == []


def test_matches_the_start_of_the_username_in_any_case(login_as: Any, world: Any) -> None:
    client = login_as(world.admin)

    assert set(_names(client, "OFFICER")) == {"张专员", "李专员"}
    assert _names(client, "officer2") == ["李专员"]
    assert set(_names(client, "manag")) == {"王主任", "赵主任"}
    # The start of the username only, not any part of it.
    assert _names(client, "fficer") == []


def test_only_officers_and_managers_in_or_out_of_office(
    login_as: Any, world: Any, session: Any
) -> None:
    UserFactory(username="gone", full_name="钱专员", role=Role.OFFICER, active=False)
    session.flush()
    client = login_as(world.leader)

    results = {r["name"]: r for r in _suggest(client, "钱")}
    assert results["钱专员"]["active"] is False
    assert "已停用" in results["钱专员"]["label"]
    # Leaders and admins own no records.
    assert _names(client, "刘局长") == []
    assert _names(client, "admin") == []


def test_json_shape_and_labels_tell_namesakes_apart(
    login_as: Any, world: Any, session: Any
) -> None:
    officer = UserFactory(username="zw1", full_name="张伟", role=Role.OFFICER)
    manager = UserFactory(
        username="zw2", full_name="张伟", role=Role.MANAGER, parks=[world.park_a, world.park_b]
    )
    session.flush()
    client = login_as(world.manager)

    results = _suggest(client, "张伟")

    assert results == [
        {"id": officer.id, "name": "张伟", "label": "招商专员", "active": True},
        {
            "id": manager.id,
            "name": "张伟",
            "label": "园区负责人 · 集成电路产业园、新型显示产业园",
            "active": True,
        },
    ]


def test_officers_first_then_managers_each_by_name(login_as: Any, world: Any, session: Any) -> None:
    UserFactory(username="m-a", full_name="测试A", role=Role.MANAGER, parks=[world.park_a])
    UserFactory(username="o-c", full_name="测试C", role=Role.OFFICER)
    UserFactory(username="o-b", full_name="测试B", role=Role.OFFICER)
    session.flush()
    client = login_as(world.admin)

    assert _names(client, "测试") == ["测试B", "测试C", "测试A"]


def test_an_exact_name_comes_first(login_as: Any, world: Any, session: Any) -> None:
    for i in range(SUGGEST_LIMIT + 5):
        UserFactory(username=f"w{i}", full_name=f"王伟{i:02d}", role=Role.OFFICER)
    exact = UserFactory(username="ww", full_name="王伟", role=Role.MANAGER, parks=[world.park_a])
    session.flush()
    client = login_as(world.manager)

    results = _suggest(client, "王伟")

    assert results[0]["id"] == exact.id


def test_at_most_twenty(login_as: Any, world: Any, session: Any) -> None:
    for i in range(SUGGEST_LIMIT + 10):
        UserFactory(username=f"many{i}", full_name=f"孙{i:02d}", role=Role.OFFICER)
    session.flush()
    client = login_as(world.manager)

    assert SUGGEST_LIMIT == 20
    assert len(_suggest(client, "孙")) == 20
    assert len(_suggest(client, "many")) == 20


@pytest.mark.parametrize("q", ["%", "_", "\\", "%专%", "_专员", "\\%", "a%b"])
def test_like_metacharacters_are_literal(login_as: Any, world: Any, q: str) -> None:
    client = login_as(world.manager)

    assert _suggest(client, q) == []


def test_metacharacters_in_names_are_found_literally(
    login_as: Any, world: Any, session: Any
) -> None:
    UserFactory(username="pct", full_name="百分%之_百\\", role=Role.OFFICER)
    session.flush()
    client = login_as(world.manager)

    assert _names(client, "%之_") == ["百分%之_百\\"]
    assert _names(client, "\\") == ["百分%之_百\\"]


@pytest.mark.parametrize("q", ["", "   ", "\x00", "张" * 5000, "'; --", "%ED%A0%80"])
def test_odd_input_is_answered(login_as: Any, world: Any, q: str) -> None:
    client = login_as(world.manager)

    assert _suggest(client, q) == []


def test_bytes_that_are_not_utf8_are_answered(login_as: Any, world: Any) -> None:
    client = login_as(world.manager)

    response = client.get("/owners/suggest?q=%FF%FE%ED%A0%80")

    assert response.status_code == 200
    assert response.get_json() == {"results": []}


def test_control_characters_are_ignored(login_as: Any, world: Any) -> None:
    client = login_as(world.manager)

    assert _names(client, "\x00张\x1f") == ["张专员"]


def test_officers_are_refused(login_as: Any, world: Any) -> None:
    client = login_as(world.officer)

    assert client.get("/owners/suggest?q=张").status_code == 403


def test_anonymous_is_sent_to_log_in(client: Any, world: Any) -> None:
    response = client.get("/owners/suggest?q=张")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_exact_names(session: Any, world: Any) -> None:
    twin = UserFactory(username="twin", full_name="张专员", role=Role.MANAGER, parks=[world.park_a])
    session.flush()

    assert owner_ids_named(session, " 张专员 ") == sorted([world.officer.id, twin.id])
    assert owner_ids_named(session, "李专员") == [world.other_officer.id]
    assert owner_ids_named(session, "专员") == []
    assert owner_ids_named(session, "刘局长") == []  # a leader owns nothing
    assert owner_ids_named(session, "%") == []
    assert owner_ids_named(session, "张" * 500) == []
    assert owner_ids_named(session, "") == []


def test_service_limit(session: Any, world: Any) -> None:
    assert len(suggest_owners(session, "专员", limit=1)) == 1
