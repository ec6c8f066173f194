"""Enterprises, parks, chains and the board through the API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from app.enterprises.models import Enterprise, Ownership
from app.pipeline import queries
from app.pipeline.lifecycle import ALL_STAGES
from app.pipeline.models import Lead
from tests.api.helpers import error, walk
from tests.factories import (
    EnterpriseContactFactory,
    EnterpriseFactory,
    LeadFactory,
    ParkFactory,
    credit_code,
)

BOE = "京东方科技集团股份有限公司"


def test_list_search_and_filter_enterprises(session: Any, world: Any, api_as: Any) -> None:
    boe = EnterpriseFactory(name=BOE, ownership=Ownership.SOE, is_listed=True)
    EnterpriseFactory(name="青岛啤酒股份有限公司", ownership=Ownership.SOE)
    EnterpriseFactory(name="海尔智家股份有限公司", ownership=Ownership.PRIVATE, is_listed=True)
    api = api_as(world.leader)
    assert api.get("/api/v1/enterprises").get_json()["total"] == 3
    found = api.get("/api/v1/enterprises?q=京东方").get_json()["items"]
    assert [e["id"] for e in found] == [boe.id]
    by_code = api.get(f"/api/v1/enterprises?q={boe.credit_code}").get_json()["items"]
    assert [e["id"] for e in by_code] == [boe.id]
    both = api.get("/api/v1/enterprises?ownership=soe&tag=is_listed").get_json()["items"]
    assert [e["id"] for e in both] == [boe.id]
    newest = api.get("/api/v1/enterprises?sort=-id&per_page=1").get_json()
    assert newest["pages"] == 3 and newest["items"][0]["name"] == "海尔智家股份有限公司"
    assert api.get("/api/v1/enterprises?tag=is_fortune").status_code == 422


@pytest.mark.parametrize("sort", ["relevance", "name", "-name", "-id", "-updated_at"])
def test_cursors_walk_the_enterprises_in_every_order(
    session: Any, world: Any, api_as: Any, sort: str
) -> None:
    """A search's own order too: the enterprise whose name is the word first, then by name."""
    for name in ("青岛芯片有限公司", "芯片", "芯片", "北京芯片研究院", "上海芯片", "无关企业"):
        EnterpriseFactory(name=name)
    session.commit()
    api = api_as(world.officer)
    for query in ("", "&q=芯片"):
        url = f"/api/v1/enterprises?per_page=2&sort={sort}{query}"
        pages = [api.get(f"{url}&page={n}").get_json() for n in (1, 2, 3)]
        numbered = [item["id"] for page in pages for item in page["items"]]
        walked, pages = walk(api, url)
        assert walked == numbered and len(walked) == pages[0]["total"] == (5 if query else 6)
    relevant = api.get("/api/v1/enterprises?per_page=2&q=芯片").get_json()["items"]
    assert [e["name"] for e in relevant] == ["芯片", "芯片"]


def test_enterprise_detail_with_people(session: Any, world: Any, api_as: Any) -> None:
    person = EnterpriseContactFactory(name="王经理", title="投资总监")
    body = api_as(world.officer).get(f"/api/v1/enterprises/{person.enterprise_id}").get_json()
    assert body["people"][0]["title"] == "投资总监"
    assert api_as(world.officer).get("/api/v1/enterprises/999999").status_code == 404


def test_create_an_enterprise_like_the_form(session: Any, world: Any, api_as: Any) -> None:
    api = api_as(world.officer)
    code = credit_code(91)
    response = api.post(
        "/api/v1/enterprises",
        json={"name": "青岛测试新材料有限公司", "credit_code": code.lower(), "is_china500": True},
    )
    assert response.status_code == 201, response.get_json()
    saved = session.scalar(select(Enterprise).where(Enterprise.credit_code == code))
    assert saved.is_china500 and saved.name_key

    bad = code[:17] + ("0" if code[17] != "0" else "1")
    response = api.post("/api/v1/enterprises", json={"name": "另一家", "credit_code": bad})
    assert error(response)["fields"]["credit_code"][0].startswith("校验位错误：第18位应为")
    taken = api.post("/api/v1/enterprises", json={"name": "又一家", "credit_code": code})
    assert "已登记为“青岛测试新材料有限公司”" in error(taken)["fields"]["credit_code"][0]
    assert api.post("/api/v1/enterprises", json={"name": " "}).status_code == 422


def test_a_similar_name_needs_a_confirmation(session: Any, world: Any, api_as: Any) -> None:
    boe = EnterpriseFactory(name=BOE)
    api = api_as(world.officer)
    response = api.post("/api/v1/enterprises", json={"name": "京东方科技集团"})
    body = error(response)
    assert response.status_code == 422 and body["code"] == "possible_duplicates"
    assert f"#{boe.id}" in body["message"]
    confirmed = api.post(
        "/api/v1/enterprises", json={"name": "京东方科技集团", "confirm_duplicate": True}
    )
    assert confirmed.status_code == 201


def test_edit_an_enterprise_with_its_version(session: Any, world: Any, api_as: Any) -> None:
    enterprise = EnterpriseFactory(name="青岛啤酒股份有限公司", credit_code=None, industry="酒")
    api = api_as(world.manager)
    url = f"/api/v1/enterprises/{enterprise.id}"
    response = api.patch(url, json={"credit_code": credit_code(95), "version": 1})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["credit_code"] == credit_code(95) and body["industry"] == "酒"
    assert body["version"] == 2
    stale = api.patch(url, json={"industry": "饮料", "version": 1})
    assert stale.status_code == 409
    assert api_as(world.leader).patch(url, json={"version": 2}).status_code == 403


def test_contact_people_are_added_edited_and_removed_like_on_the_page(
    session: Any, world: Any, api_as: Any
) -> None:
    enterprise = EnterpriseFactory(name="青岛芯源科技有限公司")
    api = api_as(world.officer)
    people = f"/api/v1/enterprises/{enterprise.id}/people"

    added = api.post(people, json={"name": " 王经理 ", "title": "投资总监", "phone": "0532-1"})
    assert added.status_code == 201, added.get_json()
    person = added.get_json()
    assert (person["name"], person["title"], person["email"], person["version"]) == (
        "王经理",
        "投资总监",
        None,
        1,
    )
    detail = api.get(f"/api/v1/enterprises/{enterprise.id}").get_json()
    assert [p["id"] for p in detail["people"]] == [person["id"]]

    # Refusals name their field and save nothing.
    assert error(api.post(people, json={"name": " "}))["fields"]["name"] == ["请填写联系人姓名。"]
    assert "email" in error(api.post(people, json={"name": "李", "email": "x" * 121}))["fields"]
    assert error(api.post(people, json={"name": "李", "mobile": "1"}))["fields"]["mobile"]
    assert api.post("/api/v1/enterprises/999999/people", json={"name": "李"}).status_code == 404
    assert len(api.get(f"/api/v1/enterprises/{enterprise.id}").get_json()["people"]) == 1

    url = f"{people}/{person['id']}"
    changed = api.patch(url, json={"email": "wang@example.com", "version": 1})
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert (body["title"], body["email"], body["version"]) == ("投资总监", "wang@example.com", 2)
    assert api.patch(url, json={"title": "总经理", "version": 1}).status_code == 409
    assert api_as(world.leader).patch(url, json={"version": 2}).status_code == 403
    other = EnterpriseFactory(name="别的企业")
    elsewhere = f"/api/v1/enterprises/{other.id}/people/{person['id']}"
    assert api.patch(elsewhere, json={"version": 2}).status_code == 404

    assert api_as(world.leader).delete(url).status_code == 403
    assert api.delete(elsewhere).status_code == 404
    assert api.delete(url).status_code == 204
    assert api.get(f"/api/v1/enterprises/{enterprise.id}").get_json()["people"] == []
    assert api.delete(url).status_code == 404


def test_parks_and_chains(session: Any, world: Any, api_as: Any) -> None:
    ParkFactory(code="OLD", name="旧园区", active=False)
    api = api_as(world.officer)
    parks = api.get("/api/v1/parks").get_json()
    assert [p["code"] for p in parks][:2] == ["IC", "DISPLAY"]
    assert any(not p["active"] for p in parks)
    assert api.get(f"/api/v1/parks/{world.park_a.id}").get_json()["name"] == "集成电路产业园"
    chains = api.get("/api/v1/chains").get_json()
    assert chains[0]["links"][0]["name"] == "芯片设计"
    assert api.get(f"/api/v1/chains/{world.chain.id}").get_json()["code"] == "CHIP"
    assert api.get("/api/v1/chains/999999").status_code == 404


def test_the_board_gives_the_pages_aggregates(session: Any, world: Any, api_as: Any) -> None:
    for amount in ("3", "60", "7.25"):
        LeadFactory(owner=world.officer, park=world.park_a, estimated_investment=Decimal(amount))
    LeadFactory(owner=world.other_officer, park=world.park_b, estimated_investment=Decimal(9))
    body = api_as(world.manager).get("/api/v1/pipeline/board").get_json()
    assert body["park_id"] == world.park_a.id and body["kind"] == "leads"
    assert [c["stage"] for c in body["columns"]] == [s.value for s in ALL_STAGES]
    expected = queries.board(session, world.manager, Lead, world.park_a.id)
    for column, want in zip(body["columns"], expected, strict=True):
        assert column["count"] == want.count
        assert Decimal(column["total"]) == want.total
    lead_column = body["columns"][0]
    assert (lead_column["count"], lead_column["total"], lead_column["label"]) == (
        3,
        "70.25",
        "线索",
    )
    assert [c["amount"] for c in lead_column["cards"]] == ["60", "7.25", "3"]

    leader = api_as(world.leader).get("/api/v1/pipeline/board?kind=projects").get_json()
    assert leader["park_id"] is None and leader["kind"] == "projects"
    assert api_as(world.officer).get("/api/v1/pipeline/board").status_code == 403
    other_park = f"/api/v1/pipeline/board?park={world.park_b.id}"
    assert api_as(world.manager).get(other_park).status_code == 404
    assert api_as(world.admin).get("/api/v1/pipeline/board?kind=cards").status_code == 422
