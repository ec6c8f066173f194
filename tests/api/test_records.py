"""Leads and projects through the API: the pages' visibility, filters, paging and sorting, and
writes checked exactly like the forms (amounts, dates, versions, duplicates, owners)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from app.api.schemas import RECORD_SORTS
from app.core import paging
from app.core.timeutil import today_local
from app.pipeline.lifecycle import Stage
from app.pipeline.models import Lead, Project
from tests.api.helpers import error, walk
from tests.factories import EnterpriseFactory, LeadFactory, ProjectFactory

TODAY = today_local()


@pytest.fixture
def records(session: Any, world: Any) -> dict[str, Any]:
    mine = LeadFactory(
        owner=world.officer,
        park=world.park_a,
        chain_link=world.link,
        estimated_investment=Decimal("60"),
        title="芯片设计中心",
    )
    other = LeadFactory(owner=world.other_officer, park=world.park_a, title="封装测试基地")
    elsewhere = LeadFactory(owner=world.other_officer, park=world.park_b, title="面板三期")
    project = ProjectFactory(lead=mine, name="一期", total_investment=Decimal("12.5"))
    return {"mine": mine, "other": other, "elsewhere": elsewhere, "project": project}


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return sorted(item["id"] for item in response.get_json()["items"])


def test_lists_follow_visibility(world: Any, records: dict, api_as: Any) -> None:
    mine, other, elsewhere = records["mine"].id, records["other"].id, records["elsewhere"].id
    assert ids(api_as(world.officer).get("/api/v1/leads")) == [mine]
    assert ids(api_as(world.manager).get("/api/v1/leads")) == sorted([mine, other])
    assert ids(api_as(world.other_manager).get("/api/v1/leads")) == [elsewhere]
    assert ids(api_as(world.leader).get("/api/v1/leads")) == sorted([mine, other, elsewhere])
    assert ids(api_as(world.admin).get("/api/v1/projects")) == [records["project"].id]
    assert ids(api_as(world.other_officer).get("/api/v1/projects")) == []


def test_lists_filter_like_the_pages(world: Any, records: dict, api_as: Any) -> None:
    api = api_as(world.admin)
    mine = records["mine"].id
    assert ids(api.get(f"/api/v1/leads?park={world.park_b.id}")) == [records["elsewhere"].id]
    assert ids(api.get(f"/api/v1/leads?chain={world.chain.id}")) == [mine]
    assert ids(api.get(f"/api/v1/leads?link={world.link.id}")) == [mine]
    assert ids(api.get("/api/v1/leads?tier=big")) == [mine]
    assert ids(api.get(f"/api/v1/leads?owner={world.officer.id}")) == [mine]
    assert ids(api.get("/api/v1/leads?q=芯片")) == [mine]
    assert ids(api.get("/api/v1/leads?stage=signed")) == []
    assert ids(api.get("/api/v1/projects?stage=signed&tier=major")) == [records["project"].id]


def test_list_arguments_are_validated(world: Any, records: dict, api_as: Any) -> None:
    api = api_as(world.admin)
    for query, field in (
        ("stage=sold", "stage"),
        ("tier=huge", "tier"),
        ("park=abc", "park"),
        ("park=99999999999", "park"),
        ("per_page=1000", "per_page"),
        ("page=0", "page"),
        ("sort=title", "sort"),
        ("q=" + "x" * 101, "q"),
        ("q=%00", "q"),
    ):
        response = api.get(f"/api/v1/leads?{query}")
        assert response.status_code == 422, query
        body = error(response)
        assert body["code"] == "invalid" and field in body["fields"], (query, body)
    assert "请选择有效的选项" in error(api.get("/api/v1/leads?stage=x"))["message"]
    # Unknown query arguments are ignored, as on the pages (?lang=en among them).
    assert api.get("/api/v1/leads?lang=en&_=1").status_code == 200


def test_lists_paginate_and_sort(session: Any, world: Any, api_as: Any) -> None:
    leads = [
        LeadFactory(
            owner=world.officer,
            park=world.park_a,
            estimated_investment=Decimal(i),
            title=f"线索{i:02d}",
        )
        for i in range(1, 8)
    ]
    api = api_as(world.officer)
    first = api.get("/api/v1/leads?per_page=3&sort=-investment").get_json()
    assert (first["page"], first["per_page"], first["total"], first["pages"]) == (1, 3, 7, 3)
    assert [i["estimated_investment"] for i in first["items"]] == ["7", "6", "5"]
    last = api.get("/api/v1/leads?per_page=3&page=3&sort=-investment").get_json()
    assert [i["id"] for i in last["items"]] == [leads[0].id]
    beyond = api.get("/api/v1/leads?per_page=3&page=9").get_json()
    assert beyond["items"] == [] and beyond["total"] == 7
    by_name = api.get("/api/v1/leads?sort=name&per_page=2").get_json()
    assert [i["title"] for i in by_name["items"]] == ["线索01", "线索02"]


@pytest.mark.parametrize("sort", RECORD_SORTS)
@pytest.mark.parametrize("kind", ["leads", "projects"])
def test_cursors_walk_every_sort_like_the_page_numbers(
    session: Any, world: Any, api_as: Any, kind: str, sort: str
) -> None:
    """Ties and empty amounts and contacts included: following ``next`` gives the items the
    page numbers give, in the same order, each once."""
    amounts = [Decimal("5"), None, Decimal("0.5"), Decimal("5"), None, Decimal("12"), Decimal("5")]
    for i, amount in enumerate(amounts):
        contact = None if i % 3 == 0 else TODAY - dt.timedelta(days=i % 2)
        lead = LeadFactory(
            owner=world.officer,
            park=world.park_a,
            title=f"游标{i % 2}",
            estimated_investment=amount,
            last_contact_on=contact,
            stage_since=TODAY - dt.timedelta(days=i % 3),
        )
        if kind == "projects":
            ProjectFactory(
                lead=lead,
                name=f"游标{i % 2}",
                total_investment=amount,
                last_contact_on=contact,
                stage_since=TODAY - dt.timedelta(days=i % 3),
            )
    session.commit()
    api = api_as(world.officer)
    url = f"/api/v1/{kind}?per_page=2&sort={sort}"
    numbered = [
        item["id"] for n in (1, 2, 3, 4) for item in api.get(f"{url}&page={n}").get_json()["items"]
    ]
    walked, pages = walk(api, url)
    assert walked == numbered and len(set(walked)) == len(amounts)
    assert [p["total"] for p in pages] == [len(amounts)] * 4 and pages[-1]["next"] is None


def test_a_page_number_also_gives_the_next_cursor(world: Any, records: dict, api_as: Any) -> None:
    api = api_as(world.leader)
    first = api.get("/api/v1/leads?per_page=2&sort=id").get_json()
    after = api.get(f"/api/v1/leads?per_page=2&sort=id&after={first['next']}").get_json()
    assert after["items"] == api.get("/api/v1/leads?per_page=2&sort=id&page=2").get_json()["items"]
    assert (after["page"], after["next"], after["total"], after["pages"]) == (None, None, 3, 2)
    assert api.get("/api/v1/leads?per_page=3").get_json()["next"] is None


def test_cursors_follow_visibility_and_filters(world: Any, records: dict, api_as: Any) -> None:
    """A cursor is a position, not a permission: it finds only what the list shows."""
    leader = api_as(world.leader).get("/api/v1/leads?per_page=1&sort=id").get_json()
    officer = api_as(world.officer).get(f"/api/v1/leads?sort=id&after={leader['next']}")
    assert ids(officer) == []  # the officer's one lead comes first, before the cursor
    in_park_b = api_as(world.leader).get(
        f"/api/v1/leads?sort=id&park={world.park_b.id}&after={leader['next']}"
    )
    assert ids(in_park_b) == [records["elsewhere"].id]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("page=2&after={cursor}", "page 与 after 只能给出其一。"),
        ("after=not-a-cursor", "游标无效或不属于此排序方式，请从第一页重新读取。"),
        ("sort=name&after={cursor}", "游标无效或不属于此排序方式，请从第一页重新读取。"),
        ("after=" + "A" * 1001, "内容过长（最多1000字）。"),
    ],
    ids=["with a page number", "malformed", "of another sort", "too long"],
)
def test_a_cursor_that_does_not_fit_is_refused_in_chinese(
    world: Any, records: dict, api_as: Any, query: str, message: str
) -> None:
    api = api_as(world.leader)
    cursor = api.get("/api/v1/leads?per_page=1").get_json()["next"]
    response = api.get("/api/v1/leads?per_page=1&" + query.format(cursor=cursor))
    assert response.status_code == 422
    assert error(response)["fields"] == {"after": [message]}
    assert error(response)["message"] == message


@pytest.mark.parametrize("few_rows", [paging.FEW_ROWS, 0], ids=["read-by-ids", "walked"])
def test_a_cursor_page_seeks_instead_of_skipping(
    world: Any,
    records: dict,
    api_as: Any,
    count_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
    few_rows: int,
) -> None:
    """From the cursor on through the list's index (updated_at, id); a list of few matches
    reads them by their ids, as the pages do."""
    monkeypatch.setattr(paging, "FEW_ROWS", few_rows)
    api = api_as(world.leader)
    cursor = api.get("/api/v1/leads?per_page=1").get_json()["next"]
    with count_queries() as counter:
        assert api.get(f"/api/v1/leads?per_page=1&after={cursor}").status_code == 200
    page = [s for s in counter.statements if "LIMIT" in s and "count(" not in s.lower()]
    # No rows skipped (SQLite writes "OFFSET 0" anyway).
    assert len(page) == 1 and "(lead.updated_at, lead.id) < " in page[0]
    assert ("lead.id IN (SELECT lead.id" in page[0]) is bool(few_rows)


def test_a_list_that_matches_nothing_reads_no_page(
    world: Any, records: dict, api_as: Any, count_queries: Any
) -> None:
    with count_queries() as counter:
        body = api_as(world.leader).get("/api/v1/leads?q=没有这样的线索").get_json()
    assert (body["items"], body["total"], body["pages"], body["next"]) == ([], 0, 0, None)
    assert not [s for s in counter.statements if "ORDER BY lead.updated_at" in s]


def test_a_record_out_of_sight_is_404(world: Any, records: dict, api_as: Any) -> None:
    lead, project = records["mine"], records["project"]
    for user in (world.other_officer, world.other_manager):
        for url in (
            f"/api/v1/leads/{lead.id}",
            f"/api/v1/projects/{project.id}",
            f"/api/v1/leads/{lead.id}/contacts",
            f"/api/v1/projects/{project.id}/stage-changes",
        ):
            response = api_as(user).get(url)
            assert response.status_code == 404, url
            assert error(response)["message"] == "您要找的记录不存在，或您无权查看。"
    assert api_as(world.officer).get("/api/v1/leads/2147483648").status_code == 404


def test_a_record_reads_with_its_flags(world: Any, records: dict, api_as: Any) -> None:
    body = api_as(world.officer).get(f"/api/v1/leads/{records['mine'].id}").get_json()
    assert body["title"] == "芯片设计中心"
    assert body["estimated_investment"] == "60"
    assert body["tier"] == "big"
    assert body["stage"] == "lead" and body["stage_label"] == "线索"
    assert body["park"]["code"] == "IC" and body["owner"]["username"] == "officer"
    assert body["chain_link"]["chain_name"] == "芯"
    project = api_as(world.officer).get(f"/api/v1/projects/{records['project'].id}").get_json()
    assert project["total_investment"] == "12.5" and project["tier"] == "major"
    assert project["lead_id"] == records["mine"].id


def test_create_a_lead_with_an_amount_written_in_wan(session: Any, world: Any, api_as: Any) -> None:
    enterprise = EnterpriseFactory()
    response = api_as(world.officer).post(
        "/api/v1/leads",
        json={
            "enterprise_id": enterprise.id,
            "title": "新型显示模组项目",
            "park_id": world.park_a.id,
            "source": "exhibition",
            "estimated_investment": "35000万",
            "owner_id": world.manager.id,
        },
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    lead = session.get(Lead, body["id"])
    assert lead.estimated_investment == Decimal("3.5")
    assert lead.owner_id == world.officer.id  # an officer's lead is his own, as on the page
    assert body["stage"] == "lead" and body["version"] == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"estimated_investment": "3.5亿美元"}, "estimated_investment", "无法识别的金额"),
        ({"estimated_investment": "-1"}, "estimated_investment", "金额不能为负数"),
        ({"estimated_investment": "200000亿"}, "estimated_investment", "金额过大"),
        ({"title": "   "}, "title", "请填写线索名称。"),
        ({"title": "长" * 121}, "title", "内容过长"),
        ({"park_id": 999999}, "park_id", "找不到该园区。"),
        ({"enterprise_id": 999999}, "enterprise_id", "找不到该企业。"),
        ({"source": "tv"}, "source", "请选择有效的选项。"),
        ({"title": None}, "title", "此项不能为空。"),
        ({"extra": 1}, "extra", "不支持的字段。"),
    ],
)
def test_lead_writes_are_checked_like_the_form(
    session: Any, world: Any, api_as: Any, change: dict, field: str, message: str
) -> None:
    enterprise = EnterpriseFactory()
    payload = {"enterprise_id": enterprise.id, "title": "某项目", "park_id": world.park_a.id}
    response = api_as(world.officer).post("/api/v1/leads", json={**payload, **change})
    assert response.status_code == 422, response.get_json()
    body = error(response)
    assert message in " ".join(body["fields"][field]), body
    assert message in body["message"]


def test_an_inactive_park_is_refused_by_the_service(session: Any, world: Any, api_as: Any) -> None:
    world.park_a.active = False
    session.flush()
    response = api_as(world.officer).post(
        "/api/v1/leads",
        json={"enterprise_id": EnterpriseFactory().id, "title": "x", "park_id": world.park_a.id},
    )
    assert error(response)["fields"] == {"park_id": ["该园区已停用。"]}


def test_a_duplicate_lead_is_refused_with_its_own_code(
    session: Any, world: Any, records: dict, api_as: Any
) -> None:
    enterprise_id = records["mine"].enterprise_id
    payload = {"enterprise_id": enterprise_id, "title": "再来一个", "park_id": world.park_a.id}
    response = api_as(world.other_officer).post("/api/v1/leads", json=payload)
    assert response.status_code == 422
    body = error(response)
    assert body["code"] == "duplicate_lead"
    assert "张专员" in body["fields"]["enterprise_id"][0]
    # A manager who has seen it may confirm, as on the page.
    confirmed = api_as(world.manager).post(
        "/api/v1/leads", json={**payload, "allow_duplicate": True}
    )
    assert confirmed.status_code == 201


def test_a_leader_reads_but_never_writes(world: Any, records: dict, api_as: Any) -> None:
    api = api_as(world.leader)
    lead = records["mine"]
    assert api.get(f"/api/v1/leads/{lead.id}").status_code == 200
    for method, url in (
        ("POST", "/api/v1/leads"),
        ("PATCH", f"/api/v1/leads/{lead.id}"),
        ("POST", f"/api/v1/leads/{lead.id}/contacts"),
        ("POST", f"/api/v1/leads/{lead.id}/stage-changes"),
        ("POST", f"/api/v1/leads/{lead.id}/projects"),
        ("PUT", f"/api/v1/leads/{lead.id}/owner"),
        ("POST", "/api/v1/enterprises"),
    ):
        response = api.open(method, url, json={})
        assert response.status_code == 403, (method, url)
        assert error(response)["code"] == "forbidden"


def test_patch_changes_only_what_is_given(
    session: Any, world: Any, records: dict, api_as: Any
) -> None:
    lead = records["mine"]
    response = api_as(world.officer).patch(
        f"/api/v1/leads/{lead.id}", json={"estimated_investment": "8亿", "version": lead.version}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["estimated_investment"] == "8" and body["title"] == "芯片设计中心"
    assert body["chain_link"]["id"] == world.link.id and body["version"] == 2
    cleared = api_as(world.officer).patch(
        f"/api/v1/leads/{lead.id}", json={"chain_link_id": None, "version": 2}
    )
    assert cleared.get_json()["chain_link"] is None


def test_a_stale_version_is_a_409(session: Any, world: Any, records: dict, api_as: Any) -> None:
    lead = records["mine"]
    api = api_as(world.officer)
    first = api.patch(f"/api/v1/leads/{lead.id}", json={"title": "A", "version": 1})
    assert first.status_code == 200
    second = api.patch(f"/api/v1/leads/{lead.id}", json={"title": "B", "version": 1})
    assert second.status_code == 409
    assert error(second)["code"] == "version_conflict"
    assert "已被他人修改" in error(second)["message"]
    assert session.get(Lead, lead.id).title == "A"
    missing = api.patch(f"/api/v1/leads/{lead.id}", json={"title": "C"})
    assert missing.status_code == 422 and "version" in error(missing)["fields"]


def test_project_writes(session: Any, world: Any, records: dict, api_as: Any) -> None:
    project = records["project"]
    api = api_as(world.officer)
    response = api.patch(
        f"/api/v1/projects/{project.id}",
        json={"fixed_asset_investment": "20", "version": project.version},
    )
    assert response.status_code == 422
    assert error(response)["fields"] == {"fixed_asset_investment": ["固定资产投资不能大于总投资。"]}
    response = api.patch(
        f"/api/v1/projects/{project.id}",
        json={
            "planned_construction_on": "2027-03-01",
            "planned_signing_on": "2027-05-01",
            "version": project.version,
        },
    )
    assert error(response)["fields"]["planned_construction_on"][0].startswith("计划日期须按")
    response = api.patch(
        f"/api/v1/projects/{project.id}",
        json={"planned_signing_on": "2027-13-01", "version": project.version},
    )
    assert "日期“2027-13-01”无效" in error(response)["fields"]["planned_signing_on"][0]
    ok = api.patch(
        f"/api/v1/projects/{project.id}", json={"name": "一期工程", "version": project.version}
    )
    assert ok.status_code == 200 and ok.get_json()["name"] == "一期工程"


def test_create_a_project_of_a_lead(session: Any, world: Any, records: dict, api_as: Any) -> None:
    lead = records["mine"]
    signed = (TODAY - dt.timedelta(days=5)).isoformat()
    contacted = (TODAY - dt.timedelta(days=9)).isoformat()
    negotiating = (TODAY - dt.timedelta(days=7)).isoformat()
    response = api_as(world.manager).post(
        f"/api/v1/leads/{lead.id}/projects",
        json={
            "name": "二期",
            "stage": "signed",
            "effective_on": signed,
            "skipped_dates": {"contacted": contacted, "negotiating": negotiating},
        },
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    project = session.get(Project, body["id"])
    assert project.stage is Stage.SIGNED and project.signed_on.isoformat() == signed
    assert project.total_investment == Decimal("60")  # the lead's, as the form proposes
    assert project.chain_link_id == world.link.id and project.park_id == world.park_a.id
    assert project.owner_id == world.officer.id  # a manager's project goes to the lead's owner
    assert body["proposal"] is None
    officers = api_as(world.officer).post(
        f"/api/v1/leads/{lead.id}/projects",
        json={
            "name": "四期",
            "stage": "negotiating",
            "skipped_dates": {"contacted": contacted},
        },
    )
    assert officers.status_code == 201 and officers.get_json()["stage"] == "negotiating"
    assert officers.get_json()["proposal"] is None
    proposed = api_as(world.officer).post(
        f"/api/v1/leads/{lead.id}/projects",
        json={
            "name": "五期",
            "stage": "signed",
            "skipped_dates": {"contacted": contacted, "negotiating": negotiating},
        },
    )
    body = proposed.get_json()
    assert body["stage"] == "lead" and body["proposal"]["to_stage"] == "signed"
    # A skipped stage without its date is refused with the page's message.
    response = api_as(world.manager).post(
        f"/api/v1/leads/{lead.id}/projects",
        json={"name": "三期", "stage": "signed", "effective_on": signed},
    )
    assert error(response)["fields"] == {
        "skipped_dates.contacted": ["跳过“接洽”阶段时须填写其日期。"]
    }
    future = api_as(world.manager).post(
        f"/api/v1/leads/{lead.id}/projects",
        json={"name": "六期", "effective_on": (TODAY + dt.timedelta(days=1)).isoformat()},
    )
    assert error(future)["fields"] == {"effective_on": ["日期不能晚于今天。"]}
    same_name = api_as(world.manager).post(
        f"/api/v1/leads/{lead.id}/projects", json={"name": "二期"}
    )
    assert "同名项目" in error(same_name)["fields"]["name"][0]


def test_reassign(session: Any, world: Any, records: dict, api_as: Any) -> None:
    lead = records["mine"]
    assert (
        api_as(world.officer)
        .put(
            f"/api/v1/leads/{lead.id}/owner",
            json={"owner_id": world.other_officer.id, "version": 1},
        )
        .status_code
        == 403
    )
    response = api_as(world.manager).put(
        f"/api/v1/leads/{lead.id}/owner", json={"owner_id": world.other_manager.id, "version": 1}
    )
    assert error(response)["fields"] == {"owner_id": ["该园区负责人不负责此园区。"]}
    response = api_as(world.manager).put(
        f"/api/v1/leads/{lead.id}/owner", json={"owner_id": world.other_officer.id, "version": 1}
    )
    assert response.status_code == 200 and response.get_json()["owner"]["username"] == "officer2"
