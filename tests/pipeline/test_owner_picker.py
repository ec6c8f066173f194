"""Naming a record's owner by the owner picker: giving a record to someone else on its page, and
a new lead or project given to someone at its creation (suggestions for the record's park, the
exact typed name without JavaScript, and what is refused)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from app.auth.models import Role
from app.pipeline.models import Lead, Project
from tests.factories import EnterpriseFactory, LeadFactory, UserFactory


@pytest.fixture
def lead(session: Any, world: Any) -> Lead:
    found = LeadFactory(title="待转交的线索", owner=world.officer, park=world.park_a)
    session.commit()
    return found


def _post(client: Any, lead: Lead, **fields: str) -> Any:
    data = {"reassign-version": str(lead.version)}
    data.update({f"reassign-{name}": value for name, value in fields.items()})
    return client.post(f"/leads/{lead.id}/reassign", data=data)


def _owner(session: Any, lead: Lead) -> int:
    session.expire_all()
    return lead.owner_id


def test_the_page_offers_a_picker_not_every_officer(
    login_as: Any, world: Any, session: Any, lead: Lead
) -> None:
    for i in range(30):
        UserFactory(username=f"many{i}", full_name=f"众专员{i:02d}", role=Role.OFFICER)
    session.commit()
    page = login_as(world.manager).get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "变更负责人" in page
    assert "众专员" not in page
    assert 'name="reassign-owner_id"' in page and 'name="reassign-owner_name"' in page
    assert page.count('name="reassign-owner_id"') == 1
    assert f"/owners/suggest?park={world.park_a.id}" in page
    assert "当前：张专员" in page


def test_suggestions_for_a_park_are_whom_its_records_may_be_given_to(
    login_as: Any, world: Any, session: Any
) -> None:
    UserFactory(username="gone", full_name="离职专员", role=Role.OFFICER, active=False)
    session.commit()
    client = login_as(world.manager)

    def names(q: str, **args: Any) -> set[str]:
        response = client.get("/owners/suggest", query_string={"q": q, **args})
        return {r["name"] for r in response.get_json()["results"]}

    # The lists' filter: everyone who owns or owned records.
    assert names("主任") == {"王主任", "赵主任"}
    assert names("离职") == {"离职专员"}
    # A record of park A: active officers and park A's managers only.
    assert names("主任", park=world.park_a.id) == {"王主任"}
    assert names("专员", park=world.park_a.id) == {"张专员", "李专员"}
    assert names("离职", park=world.park_a.id) == set()


def test_reassign_to_the_person_chosen_from_the_suggestions(
    login_as: Any, world: Any, session: Any, lead: Lead
) -> None:
    response = _post(login_as(world.manager), lead, owner_id=str(world.other_officer.id))
    assert response.status_code == 302
    assert _owner(session, lead) == world.other_officer.id


def test_reassign_by_the_exact_name_typed_without_javascript(
    login_as: Any, world: Any, session: Any, lead: Lead
) -> None:
    response = _post(login_as(world.manager), lead, owner_id="", owner_name=" 李专员 ")
    assert response.status_code == 302
    assert _owner(session, lead) == world.other_officer.id


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"owner_id": "", "owner_name": ""}, "请选择新负责人。"),
        ({"owner_name": "无名氏"}, "没有名为“无名氏”、可负责本园区记录的招商专员或园区负责人。"),
        # Park B's manager may not be given a record of park A, by name or by id.
        ({"owner_name": "赵主任"}, "没有名为“赵主任”"),
        ({"owner_id": "other_manager"}, "该园区负责人不负责此园区。"),
        ({"owner_id": "999999"}, "请选择新负责人。"),
        ({"owner_id": "x", "owner_name": ""}, "请选择新负责人。"),
    ],
)
def test_what_cannot_be_a_new_owner_is_refused_and_said(
    login_as: Any,
    world: Any,
    session: Any,
    lead: Lead,
    fields: dict[str, str],
    message: str,
) -> None:
    if fields.get("owner_id") == "other_manager":
        fields = {"owner_id": str(world.other_manager.id)}
    response = _post(login_as(world.manager), lead, **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert re.search(r"invalid-feedback", response.get_data(as_text=True))
    assert _owner(session, lead) == world.officer.id


def test_two_people_of_the_typed_name_are_not_guessed(
    login_as: Any, world: Any, session: Any, lead: Lead
) -> None:
    UserFactory(username="namesake", full_name="李专员", role=Role.OFFICER)
    session.commit()
    response = _post(login_as(world.manager), lead, owner_name="李专员")
    assert response.status_code == 422
    assert "有 2 位负责人名为“李专员”，请从提示中选择。" in response.get_data(as_text=True)
    assert _owner(session, lead) == world.officer.id


# --- a new record's owner ---------------------------------------------------------------------


def _new_lead(client: Any, world: Any, title: str, **owner: str) -> Any:
    company = EnterpriseFactory()
    data = {
        "title": title,
        "enterprise": company.credit_code,
        "source": "exhibition",
        "park_id": str(world.park_a.id),
        "chain_link_id": "",
        "estimated_investment": "",
        "description": "",
        **owner,
    }
    return client.post("/leads/new", data=data)


def _lead_titled(session: Any, title: str) -> Lead | None:
    return session.scalar(select(Lead).where(Lead.title == title))


def test_the_new_lead_form_offers_a_picker_limited_to_the_chosen_park(
    login_as: Any, world: Any, session: Any
) -> None:
    for i in range(30):
        UserFactory(username=f"many{i}", full_name=f"众专员{i:02d}", role=Role.OFFICER)
    session.commit()
    page = login_as(world.manager).get("/leads/new").get_data(as_text=True)
    assert "众专员" not in page
    assert 'data-park-field="#park_id"' in page and 'id="owner-name"' in page
    assert "不填则由本人负责。" in page
    # Officers own what they create: no picker.
    officer_page = login_as(world.officer).get("/leads/new").get_data(as_text=True)
    assert "data-owner-picker" not in officer_page


@pytest.mark.parametrize(
    ("owner", "expected"),
    [
        ({}, "manager"),
        ({"owner_id": "", "owner_name": ""}, "manager"),
        ({"owner_id": "officer"}, "officer"),
        ({"owner_name": "李专员"}, "other_officer"),
    ],
)
def test_a_new_lead_goes_to_the_person_picked_or_to_its_author(
    login_as: Any, world: Any, session: Any, owner: dict[str, str], expected: str
) -> None:
    if owner.get("owner_id") == "officer":
        owner = {"owner_id": str(world.officer.id)}
    response = _new_lead(login_as(world.manager), world, "指定负责人的线索", **owner)
    assert response.status_code == 302
    assert _lead_titled(session, "指定负责人的线索").owner_id == getattr(world, expected).id


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("无名氏", "没有名为“无名氏”、可负责本园区记录的招商专员或园区负责人。"),
        ("赵主任", "没有名为“赵主任”"),  # park B's manager, the lead is in park A
    ],
)
def test_a_new_lead_for_no_one_or_someone_elses_park_is_refused(
    login_as: Any, world: Any, session: Any, name: str, message: str
) -> None:
    response = _new_lead(login_as(world.manager), world, "无人负责的线索", owner_name=name)
    assert response.status_code in (200, 422)
    assert message in response.get_data(as_text=True)
    assert _lead_titled(session, "无人负责的线索") is None


def test_a_new_project_goes_to_the_person_whose_name_was_typed(
    login_as: Any, world: Any, session: Any, lead: Lead
) -> None:
    data = {
        "name": "转交的项目",
        "park_id": str(world.park_a.id),
        "chain_link_id": "",
        "total_investment": "2亿",
        "fixed_asset_investment": "",
        "owner_name": "李专员",
        "stage-target": "lead",
        "stage-effective_on": "2026-11-20",
    }
    response = login_as(world.manager).post(f"/leads/{lead.id}/projects/new", data=data)
    assert response.status_code == 302
    project = session.scalar(select(Project).where(Project.name == "转交的项目"))
    assert project.owner_id == world.other_officer.id
