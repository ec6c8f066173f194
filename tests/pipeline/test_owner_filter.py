"""The lists' owner filter: a typed name with suggestions instead of a select of every owner.

The page shows only the chosen owner's name; without JavaScript the typed text (``owner_name``)
is matched against the exact full names of officers and park managers.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from app.auth.models import Role
from tests.factories import LeadFactory, UserFactory
from tests.pipeline.helpers import measure

SEVERAL = "有 2 位负责人名为“张专员”，请从提示中选择；列表未按负责人筛选。"


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def _input(page: str, marker: str) -> str:
    """The value attribute of the input carrying *marker* (a data-* hook)."""
    tag = re.search(rf"<input[^>]*{marker}[^>]*>", page)
    assert tag, f"no input with {marker}"
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) if value else ""


def owner_text(page: str) -> str:
    return _input(page, "data-owner-name")


def owner_id(page: str) -> str:
    return _input(page, "data-owner-id")


@pytest.fixture
def leads(session: Any, world: Any) -> dict[str, Any]:
    found = {
        "mine": LeadFactory(title="甲线索", owner=world.officer, park=world.park_a),
        "other": LeadFactory(title="乙线索", owner=world.other_officer, park=world.park_a),
        "managers": LeadFactory(title="丙线索", owner=world.manager, park=world.park_a),
    }
    session.commit()
    return found


TITLES = ("甲线索", "乙线索", "丙线索")


def titles(page: str) -> set[str]:
    return {t for t in TITLES if t in page}


def query(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query, keep_blank_values=True)


def test_owner_id_shows_the_name_and_filters(login_as: Any, world: Any, leads: Any) -> None:
    client = login_as(world.manager)

    page = text(client.get(f"/leads?owner={world.other_officer.id}"))

    assert titles(page) == {"乙线索"}
    assert owner_text(page) == "李专员"
    assert owner_id(page) == str(world.other_officer.id)


def test_owner_id_without_records_still_shows_the_name(
    login_as: Any, world: Any, leads: Any
) -> None:
    client = login_as(world.leader)

    page = text(client.get(f"/projects?owner={world.other_manager.id}"))

    assert owner_text(page) == "赵主任"
    assert "没有记录" in page


def test_no_owner_leaves_the_box_empty(login_as: Any, world: Any, leads: Any) -> None:
    client = login_as(world.admin)

    page = text(client.get("/leads?owner=nonsense"))

    assert titles(page) == set(TITLES)
    assert owner_text(page) == ""
    assert 'data-suggest-url="/owners/suggest"' in page


def test_an_exact_unique_name_filters_by_that_owner(login_as: Any, world: Any, leads: Any) -> None:
    client = login_as(world.manager)

    response = client.get("/leads", query_string={"owner_name": " 李专员 ", "owner": "", "q": ""})

    assert response.status_code == 302
    assert query(response.headers["Location"]) == {
        "owner": [str(world.other_officer.id)],
        "q": [""],
    }
    page = text(client.get(response.headers["Location"]))
    assert titles(page) == {"乙线索"}
    assert owner_text(page) == "李专员"


def test_a_new_name_replaces_the_owner_it_was_shown_with(
    login_as: Any, world: Any, leads: Any
) -> None:
    client = login_as(world.manager)

    response = client.get(
        "/leads", query_string={"owner": world.officer.id, "owner_name": "王主任"}
    )

    assert query(response.headers["Location"]) == {"owner": [str(world.manager.id)]}


def test_the_shown_owner_stays_chosen_among_namesakes(
    login_as: Any, world: Any, session: Any, leads: Any
) -> None:
    twin = UserFactory(username="twin", full_name="张专员", role=Role.MANAGER, parks=[world.park_a])
    session.commit()
    client = login_as(world.manager)

    # The form resubmitted without JavaScript: the id it was shown with and its name.
    response = client.get("/leads", query_string={"owner": twin.id, "owner_name": "张专员"})

    assert query(response.headers["Location"]) == {"owner": [str(twin.id)]}


def test_several_owners_of_that_name_are_explained_and_not_filtered(
    login_as: Any, world: Any, session: Any, leads: Any
) -> None:
    UserFactory(username="twin", full_name="张专员", role=Role.MANAGER, parks=[world.park_a])
    session.commit()
    client = login_as(world.manager)

    response = client.get("/leads", query_string={"owner_name": "张专员", "owner": ""})

    assert response.status_code == 200
    page = text(response)
    assert SEVERAL in page
    assert titles(page) == set(TITLES)
    assert owner_text(page) == "张专员"
    assert owner_id(page) == ""


def test_a_replaced_owner_id_is_dropped_before_the_message(
    login_as: Any, world: Any, session: Any, leads: Any
) -> None:
    UserFactory(username="twin", full_name="张专员", role=Role.MANAGER, parks=[world.park_a])
    session.commit()
    client = login_as(world.manager)

    response = client.get(
        "/leads", query_string={"owner": world.other_officer.id, "owner_name": "张专员"}
    )

    assert response.status_code == 302
    assert query(response.headers["Location"]) == {"owner_name": ["张专员"]}
    page = text(client.get(response.headers["Location"]))
    assert page.count(SEVERAL) == 1
    assert titles(page) == set(TITLES)


def test_an_unknown_name_is_explained_and_not_filtered(
    login_as: Any, world: Any, leads: Any
) -> None:
    client = login_as(world.manager)

    page = text(client.get("/leads", query_string={"owner_name": "无此人"}))

    assert "没有名为“无此人”的招商专员或园区负责人；列表未按负责人筛选。" in page
    assert titles(page) == set(TITLES)
    assert owner_text(page) == "无此人"


def test_a_part_of_a_name_is_not_a_name(login_as: Any, world: Any, leads: Any) -> None:
    client = login_as(world.manager)

    page = text(client.get("/leads", query_string={"owner_name": "专员"}))

    assert "没有名为“专员”" in page
    assert titles(page) == set(TITLES)


def test_empty_text_clears_the_filter(login_as: Any, world: Any, leads: Any) -> None:
    client = login_as(world.manager)

    response = client.get(
        "/leads", query_string={"owner": world.officer.id, "owner_name": "  ", "stage": "lead"}
    )

    assert response.status_code == 302
    assert query(response.headers["Location"]) == {"stage": ["lead"]}


@pytest.mark.parametrize(
    "name", ["%", "_", "\\", "%专员", "张_员", "\\%", "张" * 3000, "\x00张专员", "<b>李</b>"]
)
def test_odd_text_never_fails(login_as: Any, world: Any, leads: Any, name: str) -> None:
    client = login_as(world.manager)

    response = client.get("/projects", query_string={"owner_name": name})

    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert "列表未按负责人筛选" in text(response)
        assert "<b>李</b>" not in text(response)


def test_officers_have_no_owner_filter(login_as: Any, world: Any, leads: Any) -> None:
    client = login_as(world.officer)

    page = text(client.get("/leads"))
    assert "data-owner-picker" not in page
    assert 'name="owner_name"' not in page
    # The text is ignored: an officer sees his own records, unfiltered by name.
    page = text(client.get("/leads", query_string={"owner_name": "李专员"}))
    assert titles(page) == {"甲线索"}
    assert "列表未按负责人筛选" not in page


@pytest.mark.parametrize("kind", ["leads", "projects"])
def test_the_page_does_not_list_every_owner(
    login_as: Any, world: Any, session: Any, kind: str
) -> None:
    for i in range(30):
        UserFactory(username=f"off{i}", full_name=f"欧阳专员{i:02d}", role=Role.OFFICER)
        UserFactory(
            username=f"mgr{i}",
            full_name=f"司马主任{i:02d}",
            role=Role.MANAGER,
            parks=[world.park_b],
        )
    session.commit()
    client = login_as(world.admin)

    page = text(client.get(f"/{kind}"))

    assert "欧阳专员" not in page
    assert "司马主任" not in page
    assert 'name="owner"' in page
    assert "张专员" not in page
    assert "<select" not in page.split('name="owner"')[1].split("</form>")[0]


def test_the_chosen_owner_costs_at_most_one_statement(
    login_as: Any, world: Any, session: Any, leads: Any, count_queries: Any
) -> None:
    client = login_as(world.manager)

    plain = measure(session, client, count_queries, "/leads")
    # The owner is among the loaded rows: his name costs nothing.
    with_rows = measure(session, client, count_queries, f"/leads?owner={world.other_officer.id}")
    # Nobody's records: one statement for the name, and no page to read (the count found none).
    without_rows = measure(session, client, count_queries, f"/leads?owner={world.other_manager.id}")

    assert with_rows == plain
    assert without_rows == plain - 1 + 1
