"""Contacts and stage changes through the API: the same services, rules and messages as the
record page's forms."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from app.core.timeutil import today_local
from app.pipeline.lifecycle import Stage
from app.pipeline.models import Lead, StageProposal
from tests.api.helpers import error, walk
from tests.factories import ContactLogFactory, LeadFactory, ProjectFactory

TODAY = today_local()


def day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


@pytest.fixture
def lead(session: Any, world: Any) -> Lead:
    return LeadFactory(owner=world.officer, park=world.park_a)


def test_log_a_contact_and_read_the_log(session: Any, world: Any, lead: Lead, api_as: Any) -> None:
    api = api_as(world.officer)
    response = api.post(
        f"/api/v1/leads/{lead.id}/contacts",
        json={
            "contact_type": "phone",
            "contact_on": day(0),
            "summary": "电话沟通用地需求",
            "next_step": "安排实地考察",
            "next_step_due": day(7),
        },
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["created_by"]["username"] == "officer" and body["project_id"] is None
    assert lead.last_contact_on == TODAY and lead.next_step == "安排实地考察"
    assert lead.version == 1  # logging a contact does not invalidate an open edit
    listing = api.get(f"/api/v1/leads/{lead.id}/contacts").get_json()
    assert listing["total"] == 1 and listing["items"][0]["summary"] == "电话沟通用地需求"


def test_a_projects_contact_shows_in_its_leads_log(
    session: Any, world: Any, lead: Lead, api_as: Any
) -> None:
    project = ProjectFactory(lead=lead)
    api = api_as(world.officer)
    response = api.post(
        f"/api/v1/projects/{project.id}/contacts",
        json={"contact_on": day(-1), "summary": "协调施工许可"},
    )
    assert response.status_code == 201
    assert response.get_json()["project_id"] == project.id
    assert api.get(f"/api/v1/leads/{lead.id}/contacts").get_json()["total"] == 1
    assert api.get(f"/api/v1/projects/{project.id}/contacts").get_json()["total"] == 1


def test_a_long_contact_log_is_read_by_cursor(
    session: Any, world: Any, lead: Lead, api_as: Any
) -> None:
    """Newest first, several on one day (the later logged first), each once."""
    logged = [
        ContactLogFactory(lead=lead, contact_on=TODAY - dt.timedelta(days=i // 3)) for i in range(7)
    ]
    session.commit()
    walked, pages = walk(api_as(world.officer), f"/api/v1/leads/{lead.id}/contacts?per_page=2")
    newest_first = sorted(logged, key=lambda c: (c.contact_on, c.id), reverse=True)
    assert walked == [c.id for c in newest_first] and len(pages) == 4


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"contact_on": day(1)}, "contact_on", "联系日期不能晚于今天。"),
        ({"contact_on": "2026/01/05"}, "contact_on", "日期“2026/01/05”无效"),
        ({"contact_on": "1900-01-01"}, "contact_on", "超出合理范围"),
        ({"summary": ""}, "summary", "请填写联系内容。"),
        ({"next_step_due": day(0)}, "next_step", "填写了下一步日期，请同时填写下一步工作。"),
        ({"contact_type": "fax"}, "contact_type", "请选择有效的选项。"),
        ({"summary": "含\x00字符"}, "summary", "无效字符"),
    ],
)
def test_contacts_are_checked_like_the_form(
    world: Any, lead: Lead, api_as: Any, change: dict, field: str, message: str
) -> None:
    payload = {"contact_on": day(0), "summary": "拜访", **change}
    response = api_as(world.officer).post(f"/api/v1/leads/{lead.id}/contacts", json=payload)
    assert response.status_code == 422
    assert message in error(response)["fields"][field][0]


def test_move_a_stage_and_read_the_history(
    session: Any, world: Any, lead: Lead, api_as: Any
) -> None:
    api = api_as(world.officer)
    response = api.post(
        f"/api/v1/leads/{lead.id}/stage-changes",
        json={"target": "contacted", "effective_on": day(-1), "version": lead.version},
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["status"], body["stage"], body["proposal"]) == ("applied", "contacted", None)
    assert lead.stage is Stage.CONTACTED
    history = api.get(f"/api/v1/leads/{lead.id}/stage-changes").get_json()
    assert [(h["from_stage"], h["to_stage"]) for h in history] == [("lead", "contacted")]
    assert history[0]["recorded_by"]["username"] == "officer"


def test_an_officers_milestone_waits_for_his_manager(
    session: Any, world: Any, lead: Lead, api_as: Any
) -> None:
    response = api_as(world.officer).post(
        f"/api/v1/leads/{lead.id}/stage-changes",
        json={
            "target": "signed",
            "effective_on": day(0),
            "skipped_dates": {"contacted": day(-3), "negotiating": day(-2)},
            "version": lead.version,
        },
    )
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["status"] == "proposed" and body["stage"] == "lead"
    assert body["proposal"]["to_stage"] == "signed"
    assert session.get(StageProposal, body["proposal"]["id"]).proposed_by_id == world.officer.id
    again = api_as(world.officer).post(
        f"/api/v1/leads/{lead.id}/stage-changes",
        json={"target": "contacted", "effective_on": day(0), "version": lead.version},
    )
    assert "等待园区负责人确认" in error(again)["fields"]["target"][0]


def test_a_managers_milestone_applies_at_once(
    session: Any, world: Any, lead: Lead, api_as: Any
) -> None:
    response = api_as(world.manager).post(
        f"/api/v1/leads/{lead.id}/stage-changes",
        json={"target": "dropped", "effective_on": day(0), "reason": "企业转投他地", "version": 1},
    )
    assert response.status_code == 201
    assert lead.stage is Stage.DROPPED


@pytest.mark.parametrize(
    ("move", "field", "message"),
    [
        ({"target": "lead"}, "target", "已处于“线索”阶段。"),
        ({"target": "signed"}, "skipped_dates.contacted", "跳过“接洽”阶段时须填写其日期。"),
        ({"target": "contacted", "effective_on": day(1)}, "effective_on", "生效日期不能晚于今天。"),
        ({"target": "contacted", "effective_on": day(-400)}, "effective_on", "不能早于上一次"),
        ({"target": "dropped"}, "reason", "终止须填写原因。"),
        ({"target": "dropped", "reason": "长" * 501}, "reason", "内容过长"),
        ({"target": "sold"}, "target", "请选择有效的选项。"),
        ({"target": "contacted", "skipped_dates": {"sold": day(0)}}, "skipped_dates", "请选择"),
    ],
)
def test_stage_moves_are_checked_like_the_form(
    world: Any, lead: Lead, api_as: Any, move: dict, field: str, message: str
) -> None:
    payload = {"effective_on": day(0), "version": lead.version, **move}
    response = api_as(world.manager).post(f"/api/v1/leads/{lead.id}/stage-changes", json=payload)
    assert response.status_code == 422, response.get_json()
    fields = error(response)["fields"]
    assert any(name.startswith(field) and message in " ".join(v) for name, v in fields.items()), (
        fields
    )


def test_a_stale_stage_move_is_a_409(world: Any, lead: Lead, api_as: Any) -> None:
    response = api_as(world.officer).post(
        f"/api/v1/leads/{lead.id}/stage-changes",
        json={"target": "contacted", "effective_on": day(0), "version": lead.version + 1},
    )
    assert response.status_code == 409
    assert lead.stage is Stage.LEAD


def _propose(api: Any, lead: Lead) -> int:
    response = api.post(
        f"/api/v1/leads/{lead.id}/stage-changes",
        json={
            "target": "signed",
            "effective_on": day(0),
            "skipped_dates": {"contacted": day(-3), "negotiating": day(-2)},
            "version": lead.version,
        },
    )
    assert response.status_code == 202
    return response.get_json()["proposal"]["id"]


def test_a_manager_confirms_a_proposal(session: Any, world: Any, lead: Lead, api_as: Any) -> None:
    proposal_id = _propose(api_as(world.officer), lead)
    manager = api_as(world.manager)
    pending = manager.get("/api/v1/pipeline/proposals").get_json()
    assert [p["id"] for p in pending] == [proposal_id]
    assert api_as(world.other_manager).get("/api/v1/pipeline/proposals").get_json() == []
    assert api_as(world.officer).get("/api/v1/pipeline/proposals").status_code == 403

    url = f"/api/v1/pipeline/proposals/{proposal_id}/confirm"
    assert api_as(world.other_manager).post(url, json={}).status_code == 404
    assert api_as(world.leader).post(url, json={}).status_code == 403
    response = manager.post(url, json={"note": "同意"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["status"], body["decided_by"]["username"]) == ("confirmed", "manager")
    assert lead.stage is Stage.SIGNED
    again = manager.post(url)
    assert again.status_code == 422 and error(again)["message"] == "该申请已处理。"
    history = manager.get(f"/api/v1/leads/{lead.id}/stage-changes").get_json()
    assert history[-1]["recorded_by"]["username"] == "officer"
    assert history[-1]["confirmed_by"]["username"] == "manager"


def test_rejecting_needs_a_reason(session: Any, world: Any, lead: Lead, api_as: Any) -> None:
    proposal_id = _propose(api_as(world.officer), lead)
    url = f"/api/v1/pipeline/proposals/{proposal_id}/reject"
    response = api_as(world.admin).post(url, json={})
    assert error(response)["fields"] == {"note": ["退回须填写原因。"]}
    response = api_as(world.admin).post(url, json={"note": "签约日期有误"})
    assert response.get_json()["status"] == "rejected"
    assert lead.stage is Stage.LEAD


# --- a contact corrected or removed -------------------------------------------------------------


def test_correct_a_contact_with_its_version(
    session: Any, world: Any, lead: Lead, api_as: Any
) -> None:
    project = ProjectFactory(lead=lead, owner=world.officer)
    api = api_as(world.officer)
    created = api.post(
        f"/api/v1/projects/{project.id}/contacts",
        json={"contact_on": day(-1), "summary": "拜访", "next_step": "寄送资料"},
    ).get_json()
    assert created["version"] == 1
    url = f"/api/v1/projects/{project.id}/contacts/{created['id']}"

    # Only the fields given change; the rules are those of a new contact.
    response = api.patch(url, json={"summary": "拜访企业董事长", "version": 1})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["summary"], body["contact_on"], body["next_step"], body["version"]) == (
        "拜访企业董事长",
        day(-1),
        "寄送资料",
        2,
    )
    # The lead's page reaches the project's contact too.
    assert api.get(f"/api/v1/leads/{lead.id}/contacts").get_json()["items"][0]["version"] == 2

    refused = api.patch(url, json={"contact_on": day(1), "version": 2})
    assert refused.status_code == 422
    assert set(error(refused)["fields"]) == {"contact_on"}
    assert api.patch(url, json={"summary": "旧版本", "version": 1}).status_code == 409
    assert api.patch(url, json={"summary": "缺版本"}).status_code == 422


def test_remove_a_contact_with_its_version(
    session: Any, world: Any, lead: Lead, api_as: Any
) -> None:
    api = api_as(world.officer)
    older = api.post(
        f"/api/v1/leads/{lead.id}/contacts", json={"contact_on": day(-9), "summary": "电话"}
    ).get_json()
    wrong = api.post(
        f"/api/v1/leads/{lead.id}/contacts", json={"contact_on": day(0), "summary": "记错了"}
    ).get_json()
    url = f"/api/v1/leads/{lead.id}/contacts/{wrong['id']}"

    assert api.delete(url).status_code == 422  # the version is required
    assert api.delete(f"{url}?version=5").status_code == 409
    assert api.delete(f"{url}?version=1").status_code == 204
    assert api.delete(f"{url}?version=1").status_code == 404
    body = api.get(f"/api/v1/leads/{lead.id}").get_json()
    assert body["last_contact_on"] == day(-9)
    ids = [c["id"] for c in api.get(f"/api/v1/leads/{lead.id}/contacts").get_json()["items"]]
    assert ids == [older["id"]]


def test_only_the_author_or_a_manager_changes_a_contact(
    session: Any, world: Any, lead: Lead, api_as: Any
) -> None:
    contact = ContactLogFactory(lead=lead, created_by_id=world.manager.id)
    session.flush()
    url = f"/api/v1/leads/{lead.id}/contacts/{contact.id}"
    officer = api_as(world.officer)  # owns the lead, did not log this contact
    assert officer.patch(url, json={"summary": "改写", "version": 1}).status_code == 403
    assert officer.delete(f"{url}?version=1").status_code == 403
    assert api_as(world.leader).delete(f"{url}?version=1").status_code == 403
    assert api_as(world.other_manager).delete(f"{url}?version=1").status_code == 404
    assert api_as(world.manager).delete(f"{url}?version=1").status_code == 204
