"""Pipeline pages as each role: what is visible, what may be changed, filters, badges, forms.

Data is committed (to the test's savepoint) before requests are made: a view that refuses a form
rolls its session back, which must not take the test's own records with it.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from flask import g
from sqlalchemy import select

from app.core.settings import Setting
from app.core.timeutil import today_local
from app.pipeline import queries
from app.pipeline.flags import save_thresholds
from app.pipeline.lifecycle import Stage
from app.pipeline.models import (
    ContactLog,
    Lead,
    LeadSource,
    Project,
    ProposalStatus,
    StageChange,
    StageProposal,
)
from tests.factories import (
    ChainFactory,
    ChainLinkFactory,
    EnterpriseFactory,
    LeadFactory,
    ProjectFactory,
)
from tests.factories import credit_code as numbered_code
from tests.pipeline.helpers import count

TODAY = today_local()
TOMORROW = TODAY + dt.timedelta(days=1)
ROLES = ["officer", "other_officer", "manager", "other_manager", "leader", "admin"]


def ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def row_of(html: str, needle: str) -> str:
    """Return the table row that contains *needle*."""
    for row in re.findall(r"<tr>.*?</tr>", html, flags=re.S):
        if needle in row:
            return row
    raise AssertionError(f"no row with {needle!r}")


def section(html: str, heading: str) -> str:
    """Return the part of a page from the <h2> *heading* to the next <h2>."""
    start = html.index(heading)
    end = html.find("<h2", start)
    return html[start : end if end != -1 else len(html)]


def board_column(html: str, label: str) -> str:
    pattern = rf'<section class="board-col" aria-label="{label}">(.*?)</section>'
    match = re.search(pattern, html, re.S)
    assert match, f"no column {label}"
    return match.group(1)


def errors(html: str) -> list[str]:
    """Return the field errors and flashed messages of a page."""
    found = re.findall(r'invalid-feedback[^"]*">\s*([^<]*?)\s*<', html)
    found += re.findall(r'role="alert">\s*([^<]*?)\s*<', html)
    return found


BIG_BADGE = 'title="大项目">{}亿元+</span>'
MAJOR_BADGE = 'title="重大项目">{}亿元+</span>'


@pytest.fixture
def scene(session: Any, world: Any) -> SimpleNamespace:
    """张专员's lead in park A, 李专员's leads in park A and B, a project of the first."""
    lead_a = LeadFactory(
        title="甲园区张专员线索",
        owner=world.officer,
        park=world.park_a,
        chain_link=world.link,
        stage_since=ago(30),
    )
    lead_a2 = LeadFactory(title="甲园区李专员线索", owner=world.other_officer, park=world.park_a)
    lead_b = LeadFactory(title="乙园区李专员线索", owner=world.other_officer, park=world.park_b)
    project_a = ProjectFactory(lead=lead_a, name="甲园区张专员项目")
    session.commit()
    return SimpleNamespace(lead_a=lead_a, lead_a2=lead_a2, lead_b=lead_b, project_a=project_a)


VISIBLE_LEADS = {
    "officer": {"lead_a"},
    "other_officer": {"lead_a2", "lead_b"},
    "manager": {"lead_a", "lead_a2"},
    "other_manager": {"lead_b"},
    "leader": {"lead_a", "lead_a2", "lead_b"},
    "admin": {"lead_a", "lead_a2", "lead_b"},
}


# --- who sees what --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_lead_list_and_details_per_role(
    login_as: Any, world: Any, scene: SimpleNamespace, role: str
) -> None:
    client = login_as(getattr(world, role))
    listing = text(client.get("/leads"))
    for name in ("lead_a", "lead_a2", "lead_b"):
        lead = getattr(scene, name)
        visible = name in VISIBLE_LEADS[role]
        assert (lead.title in listing) is visible, name
        response = client.get(f"/leads/{lead.id}")
        assert response.status_code == (200 if visible else 404), name
        if visible:
            assert lead.title in text(response)
    assert f"共 {len(VISIBLE_LEADS[role])} 条" in listing


@pytest.mark.parametrize("role", ROLES)
def test_project_list_and_detail_per_role(
    login_as: Any, world: Any, scene: SimpleNamespace, role: str
) -> None:
    client = login_as(getattr(world, role))
    visible = "lead_a" in VISIBLE_LEADS[role]
    assert (scene.project_a.name in text(client.get("/projects"))) is visible
    detail = client.get(f"/projects/{scene.project_a.id}")
    assert detail.status_code == (200 if visible else 404)
    edit = client.get(f"/projects/{scene.project_a.id}/edit")
    assert edit.status_code == {"leader": 403}.get(role, 200 if visible else 404)


def test_lead_detail_lists_only_visible_projects(
    login_as: Any, world: Any, session: Any, scene: SimpleNamespace
) -> None:
    # 李专员 has a project under 张专员's lead: 张专员 sees only his own project on the lead page.
    ProjectFactory(lead=scene.lead_a, name="李专员负责的二期", owner=world.other_officer)
    session.commit()
    page = text(login_as(world.officer).get(f"/leads/{scene.lead_a.id}"))
    assert "甲园区张专员项目" in page and "李专员负责的二期" not in page
    page = text(login_as(world.manager).get(f"/leads/{scene.lead_a.id}"))
    assert "甲园区张专员项目" in page and "李专员负责的二期" in page


def _write_posts(lead: Lead, project: Project, world: Any) -> list[tuple[str, dict[str, Any]]]:
    """A valid form for every write on *lead* and *project*: refusing them must not write."""
    contact = {
        "contact-contact_type": "visit",
        "contact-contact_on": TODAY.isoformat(),
        "contact-summary": "上门拜访",
        "contact-next_step": "回访",
        "contact-next_step_due": TODAY.isoformat(),
    }
    stage = {
        "stage-target": "contacted",
        "stage-effective_on": TODAY.isoformat(),
        "stage-version": str(lead.version),
    }
    edit = {
        "title": "被改掉的名称",
        "park_id": str(lead.park_id),
        "source": "visit",
        "chain_link_id": "",
        "estimated_investment": "9",
        "version": str(lead.version),
    }
    project_form = {
        "name": "被改掉的项目",
        "park_id": str(project.park_id),
        "chain_link_id": "",
        "total_investment": "1",
        "version": str(project.version),
        "stage-target": "lead",
        "stage-effective_on": TODAY.isoformat(),
    }
    reassign = {"reassign-owner_id": str(world.other_officer.id), "reassign-version": "1"}
    return [
        (f"/leads/{lead.id}/contacts", contact),
        (f"/leads/{lead.id}/stage", stage),
        (f"/leads/{lead.id}/reassign", reassign),
        (f"/leads/{lead.id}/edit", edit),
        (f"/leads/{lead.id}/next-step/done", {}),
        (f"/leads/{lead.id}/projects/new", {**project_form, "name": "新项目"}),
        (f"/projects/{project.id}/contacts", contact),
        (f"/projects/{project.id}/stage", {**stage, "stage-version": str(project.version)}),
        (f"/projects/{project.id}/reassign", reassign),
        (f"/projects/{project.id}/edit", project_form),
    ]


def _snapshot(session: Any) -> tuple[Any, ...]:
    session.expire_all()
    leads = session.execute(
        select(Lead.id, Lead.title, Lead.stage, Lead.owner_id, Lead.version).order_by(Lead.id)
    ).all()
    projects = session.execute(
        select(Project.id, Project.name, Project.owner_id, Project.version).order_by(Project.id)
    ).all()
    return (
        leads,
        projects,
        count(session, ContactLog),
        count(session, StageChange),
        count(session, StageProposal),
    )


@pytest.mark.parametrize("role", ["other_officer", "other_manager"])
def test_records_out_of_sight_are_404_for_every_write(
    login_as: Any, world: Any, session: Any, scene: SimpleNamespace, role: str
) -> None:
    client = login_as(getattr(world, role))
    before = _snapshot(session)
    for url, data in _write_posts(scene.lead_a, scene.project_a, world):
        assert client.post(url, data=data).status_code == 404, url
    for url in (f"/leads/{scene.lead_a.id}/edit", f"/leads/{scene.lead_a.id}/projects/new"):
        assert client.get(url).status_code == 404, url
    assert _snapshot(session) == before


def test_leader_reads_everything_and_gets_403_on_every_write(
    login_as: Any, world: Any, session: Any, scene: SimpleNamespace
) -> None:
    client = login_as(world.leader)
    detail = text(client.get(f"/leads/{scene.lead_a.id}"))
    for form in ("记录联系", "变更阶段", "变更负责人", "/edit", "新建项目"):
        assert form not in detail
    assert client.get("/board").status_code == 200
    assert client.get("/projects").status_code == 200

    before = _snapshot(session)
    for lead, project in ((scene.lead_a, scene.project_a), (scene.lead_b, scene.project_a)):
        for url, data in _write_posts(lead, project, world):
            assert client.post(url, data=data).status_code == 403, url
    assert client.get(f"/leads/{scene.lead_a.id}/edit").status_code == 403
    assert client.get("/leads/new").status_code == 403
    lead_form = {"title": "领导的线索", "enterprise": scene.lead_a.enterprise.name}
    assert client.post("/leads/new", data=lead_form).status_code == 403
    assert client.get("/proposals").status_code == 403
    assert client.get("/my").status_code == 403
    assert client.get("/admin/thresholds").status_code == 403
    assert client.post("/admin/thresholds", data={"major": "1", "big": "2"}).status_code == 403
    assert _snapshot(session) == before


def test_officer_may_not_reassign_his_own_lead(
    login_as: Any, world: Any, session: Any, scene: SimpleNamespace
) -> None:
    client = login_as(world.officer)
    page = text(client.get(f"/leads/{scene.lead_a.id}"))
    assert "记录联系" in page and "变更阶段" in page and "变更负责人" not in page
    data = {"reassign-owner_id": str(world.other_officer.id), "reassign-version": "1"}
    assert client.post(f"/leads/{scene.lead_a.id}/reassign", data=data).status_code == 403
    session.expire_all()
    assert scene.lead_a.owner_id == world.officer.id


def test_manager_reassigns_in_his_park(
    login_as: Any, world: Any, session: Any, scene: SimpleNamespace
) -> None:
    client = login_as(world.manager)
    page = text(client.get(f"/leads/{scene.lead_a.id}"))
    assert "变更负责人" in page
    data = {"reassign-owner_id": str(world.other_officer.id), "reassign-version": "1"}
    response = client.post(f"/leads/{scene.lead_a.id}/reassign", data=data)
    assert response.status_code == 302
    session.expire_all()
    assert scene.lead_a.owner_id == world.other_officer.id
    # The officer who lost the lead no longer sees it.
    assert login_as(world.officer).get(f"/leads/{scene.lead_a.id}").status_code == 404


@pytest.mark.parametrize(("role", "lead"), [("admin", "lead_b"), ("manager", "lead_a2")])
def test_admin_and_manager_log_contacts_on_others_leads(
    login_as: Any, world: Any, session: Any, scene: SimpleNamespace, role: str, lead: str
) -> None:
    record = getattr(scene, lead)
    client = login_as(getattr(world, role))
    data = {
        "contact-contact_type": "phone",
        "contact-contact_on": ago(1).isoformat(),
        "contact-summary": "电话沟通用地需求",
    }
    response = client.post(f"/leads/{record.id}/contacts", data=data)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/leads/{record.id}")
    [contact] = session.scalars(select(ContactLog).where(ContactLog.lead_id == record.id))
    assert contact.created_by_id == getattr(world, role).id
    assert record.last_contact_on == ago(1)


@pytest.mark.parametrize(
    ("role", "status"),
    [("officer", 403), ("manager", 200), ("leader", 200), ("admin", 200)],
)
def test_board_per_role(
    login_as: Any, world: Any, scene: SimpleNamespace, role: str, status: int
) -> None:
    response = login_as(getattr(world, role)).get("/board")
    assert response.status_code == status


def test_manager_board_of_another_park_is_404(
    login_as: Any, world: Any, scene: SimpleNamespace
) -> None:
    client = login_as(world.manager)
    assert client.get(f"/board?park={world.park_b.id}").status_code == 404
    assert client.get(f"/board?park={world.park_a.id}").status_code == 200
    assert client.get("/board?kind=nonsense").status_code == 404


@pytest.mark.parametrize(
    ("role", "status"),
    [("officer", 200), ("manager", 200), ("leader", 403), ("admin", 403)],
)
def test_my_work_per_role(login_as: Any, world: Any, role: str, status: int) -> None:
    assert login_as(getattr(world, role)).get("/my").status_code == status


@pytest.mark.parametrize(
    ("role", "status"),
    [("officer", 403), ("manager", 200), ("leader", 403), ("admin", 200)],
)
def test_proposals_page_per_role(login_as: Any, world: Any, role: str, status: int) -> None:
    assert login_as(getattr(world, role)).get("/proposals").status_code == status


@pytest.mark.parametrize("role", ["officer", "manager", "admin"])
def test_creators_see_the_forms(
    login_as: Any, world: Any, scene: SimpleNamespace, role: str
) -> None:
    client = login_as(getattr(world, role))
    assert client.get("/leads/new").status_code == 200
    lead = scene.lead_a
    assert client.get(f"/leads/{lead.id}/edit").status_code == 200
    assert client.get(f"/leads/{lead.id}/projects/new").status_code == 200
    assert client.get(f"/projects/{scene.project_a.id}/edit").status_code == 200


def test_missing_records_are_404(login_as: Any, world: Any) -> None:
    client = login_as(world.admin)
    for url in ("/leads/999999", "/projects/999999", "/leads/999999/edit"):
        assert client.get(url).status_code == 404


def test_pages_require_login(client: Any, scene: SimpleNamespace) -> None:
    for url in ("/leads", "/projects", "/my", "/board", f"/leads/{scene.lead_a.id}"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- list filters ---------------------------------------------------------------------------


@pytest.fixture
def catalog(session: Any, world: Any) -> SimpleNamespace:
    """Leads that differ in one respect each, for the filters."""
    screen = ChainFactory(code="SCREEN", name="屏")
    panel = ChainLinkFactory(chain=screen, name="面板制造")
    xinen = EnterpriseFactory(name="芯恩（青岛）集成电路有限公司", credit_code=numbered_code(4242))
    big = LeadFactory(
        title="一号线索",
        enterprise=xinen,
        owner=world.officer,
        park=world.park_a,
        chain_link=world.link,
        stage=Stage.LEAD,
        estimated_investment=Decimal("60"),
        last_contact_on=ago(2),
    )
    major = LeadFactory(
        title="二号线索",
        owner=world.other_officer,
        park=world.park_b,
        chain_link=panel,
        stage=Stage.NEGOTIATING,
        estimated_investment=Decimal("8"),
        last_contact_on=ago(45),
    )
    small = LeadFactory(
        title="三号线索",
        owner=world.other_officer,
        park=world.park_a,
        stage=Stage.SIGNED,
        estimated_investment=Decimal("0.5"),
        last_contact_on=None,
    )
    dropped = LeadFactory(
        title="四号线索",
        owner=world.officer,
        park=world.park_a,
        stage=Stage.DROPPED,
        estimated_investment=None,
        last_contact_on=ago(400),
    )
    session.commit()
    return SimpleNamespace(
        big=big, major=major, small=small, dropped=dropped, screen=screen, panel=panel, xinen=xinen
    )


ALL_TITLES = ("一号线索", "二号线索", "三号线索", "四号线索")


def _titles(client: Any, query: str, url: str = "/leads") -> set[str]:
    response = client.get(f"{url}?{query}")
    assert response.status_code == 200
    page = text(response)
    return {t for t in ALL_TITLES if t in page}


def test_list_filters(login_as: Any, world: Any, catalog: SimpleNamespace) -> None:
    client = login_as(world.admin)
    c = catalog
    assert _titles(client, "") == set(ALL_TITLES)
    assert _titles(client, f"park={world.park_a.id}") == {"一号线索", "三号线索", "四号线索"}
    assert _titles(client, f"park={world.park_b.id}") == {"二号线索"}
    assert _titles(client, "stage=negotiating") == {"二号线索"}
    assert _titles(client, "stage=dropped") == {"四号线索"}
    assert _titles(client, "tier=big") == {"一号线索"}
    assert _titles(client, "tier=major") == {"一号线索", "二号线索"}
    assert _titles(client, "tier=yi") == {"一号线索", "二号线索"}
    assert _titles(client, f"owner={world.other_officer.id}") == {"二号线索", "三号线索"}
    assert _titles(client, "stale=1") == {"二号线索", "三号线索"}
    assert _titles(client, f"chain={c.screen.id}") == {"二号线索"}
    assert _titles(client, f"chain={world.chain.id}") == {"一号线索"}
    assert _titles(client, f"link={world.link.id}") == {"一号线索"}
    assert _titles(client, f"link={c.panel.id}") == {"二号线索"}
    # Combined filters narrow each other.
    assert _titles(client, f"park={world.park_a.id}&stale=1") == {"三号线索"}
    assert _titles(client, f"owner={world.officer.id}&stage=lead") == {"一号线索"}
    # Values that do not parse are ignored.
    assert _titles(client, "stage=nonsense&tier=huge&park=x") == set(ALL_TITLES)


@pytest.fixture(params=[-1, queries.FEW_MATCHES], ids=["walk", "few"])
def search_form(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A search reads its page in one of two forms by how many records match (FEW_MATCHES):
    -1 takes the form for many matches whatever the count, the default the one for few."""
    monkeypatch.setattr(queries, "FEW_MATCHES", request.param)


@pytest.mark.usefixtures("search_form")
def test_list_search(login_as: Any, world: Any, catalog: SimpleNamespace) -> None:
    client = login_as(world.admin)
    code = catalog.xinen.credit_code
    assert _titles(client, "q=三号") == {"三号线索"}
    assert _titles(client, "q=芯恩") == {"一号线索"}
    assert _titles(client, f"q={code}") == {"一号线索"}
    spaced = " ".join([code[:6].lower(), code[6:12], code[12:].lower()])
    assert _titles(client, f"q={spaced}") == {"一号线索"}
    assert _titles(client, "q=不存在的企业") == set()
    # LIKE wildcards are taken literally.
    assert _titles(client, "q=%") == set()
    assert _titles(client, "q=_") == set()


@pytest.mark.usefixtures("search_form", "catalog")
def test_filters_never_widen_what_an_officer_sees(login_as: Any, world: Any) -> None:
    client = login_as(world.officer)
    assert _titles(client, "") == {"一号线索", "四号线索"}
    assert _titles(client, f"owner={world.other_officer.id}") == set()
    assert _titles(client, f"park={world.park_b.id}") == set()
    assert _titles(client, "q=二号") == set()
    assert _titles(client, "q=号线索") == {"一号线索", "四号线索"}


def test_project_list_filters(login_as: Any, world: Any, session: Any) -> None:
    lead = LeadFactory(owner=world.officer, park=world.park_a)
    ProjectFactory(lead=lead, name="大项目甲", total_investment=Decimal("120"))
    ProjectFactory(lead=lead, name="重大项目乙", total_investment=Decimal("6"), stage=Stage.LEAD)
    ProjectFactory(lead=lead, name="小项目丙", total_investment=Decimal("0.3"))
    session.commit()
    client = login_as(world.manager)

    def names(query: str) -> set[str]:
        page = text(client.get(f"/projects?{query}"))
        return {n for n in ("大项目甲", "重大项目乙", "小项目丙") if n in page}

    assert names("") == {"大项目甲", "重大项目乙", "小项目丙"}
    assert names("tier=big") == {"大项目甲"}
    assert names("tier=major") == {"大项目甲", "重大项目乙"}
    assert names("stage=lead") == {"重大项目乙"}
    assert names("q=丙") == {"小项目丙"}


# --- badges ---------------------------------------------------------------------------------


def _badge_leads(session: Any, world: Any) -> SimpleNamespace:
    leads = SimpleNamespace(
        big=LeadFactory(title="五十亿线索", estimated_investment=Decimal("50"), park=world.park_a),
        major=LeadFactory(title="八亿线索", estimated_investment=Decimal("8"), park=world.park_a),
        small=LeadFactory(title="四亿线索", estimated_investment=Decimal("4"), park=world.park_a),
    )
    session.commit()
    return leads


def test_badges_in_list_and_detail(login_as: Any, world: Any, session: Any) -> None:
    leads = _badge_leads(session, world)
    client = login_as(world.admin)
    page = text(client.get("/leads"))
    assert BIG_BADGE.format(50) in row_of(page, "五十亿线索")
    assert MAJOR_BADGE.format(5) in row_of(page, "八亿线索")
    assert "亿元+</span>" not in row_of(page, "四亿线索")
    assert "50.00" in row_of(page, "五十亿线索")

    assert BIG_BADGE.format(50) in text(client.get(f"/leads/{leads.big.id}"))
    assert MAJOR_BADGE.format(5) in text(client.get(f"/leads/{leads.major.id}"))
    small = text(client.get(f"/leads/{leads.small.id}"))
    assert "亿元+</span>" not in small
    assert "4.00 亿元" in small


def test_badges_follow_edited_thresholds(login_as: Any, world: Any, session: Any) -> None:
    leads = _badge_leads(session, world)
    save_thresholds(session, Decimal("3.5"), Decimal("8"))
    session.commit()
    client = login_as(world.admin)
    g.pop("thresholds", None)
    page = text(client.get("/leads"))
    assert BIG_BADGE.format(8) in row_of(page, "五十亿线索")
    assert BIG_BADGE.format(8) in row_of(page, "八亿线索")
    assert MAJOR_BADGE.format("3.5") in row_of(page, "四亿线索")
    assert "50亿元+</span>" not in page
    # The tier filter follows the same lines.
    assert "四亿线索" in text(client.get("/leads?tier=major"))
    assert "四亿线索" not in text(client.get("/leads?tier=big"))
    assert MAJOR_BADGE.format("3.5") in text(client.get(f"/leads/{leads.small.id}"))


# --- creating and editing -------------------------------------------------------------------


def _lead_form(company: Any, world: Any, **overrides: Any) -> dict[str, Any]:
    data = {
        "title": "新建的线索",
        "enterprise": company.credit_code,
        "source": "exhibition",
        "park_id": str(world.park_a.id),
        "chain_link_id": str(world.link.id),
        "estimated_investment": "",
        "description": "",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("amount", ["3.5亿", "3.5亿元", "35000万", "35000万元", "3.5", "３.５亿"])
def test_amount_inputs_are_saved_in_yi(
    login_as: Any, world: Any, session: Any, amount: str
) -> None:
    enterprise = EnterpriseFactory()
    client = login_as(world.officer)
    response = client.post(
        "/leads/new", data=_lead_form(enterprise, world, estimated_investment=amount)
    )
    assert response.status_code == 302, errors(text(response))
    lead = session.scalar(select(Lead).where(Lead.title == "新建的线索"))
    assert response.headers["Location"].endswith(f"/leads/{lead.id}")
    assert lead.estimated_investment == Decimal("3.5")
    assert lead.owner_id == world.officer.id
    assert (lead.chain_link_id, lead.source.value) == (world.link.id, "exhibition")
    assert "3.50 亿元" in text(client.get(f"/leads/{lead.id}"))


def test_lead_by_enterprise_name(login_as: Any, world: Any, session: Any) -> None:
    enterprise = EnterpriseFactory(name="青岛新核芯科技有限公司")
    client = login_as(world.manager)
    data = _lead_form(
        enterprise, world, enterprise="青岛新核芯科技有限公司", owner_id=str(world.officer.id)
    )
    assert client.post("/leads/new", data=data).status_code == 302
    lead = session.scalar(select(Lead).where(Lead.enterprise_id == enterprise.id))
    assert lead.owner_id == world.officer.id


def test_unknown_enterprise_is_refused(login_as: Any, world: Any, session: Any) -> None:
    client = login_as(world.officer)
    data = _lead_form(SimpleNamespace(credit_code="没有这家企业"), world)
    response = client.post("/leads/new", data=data)
    assert response.status_code in (200, 422)
    assert "找不到该企业" in text(response)
    assert count(session, Lead) == 0


def test_manager_may_not_create_in_another_park(login_as: Any, world: Any, session: Any) -> None:
    enterprise = EnterpriseFactory()
    client = login_as(world.manager)
    form = text(client.get("/leads/new"))
    assert world.park_a.name in form and world.park_b.name not in form
    response = client.post(
        "/leads/new", data=_lead_form(enterprise, world, park_id=str(world.park_b.id))
    )
    assert response.status_code in (200, 422)
    assert count(session, Lead) == 0


def test_duplicate_lead_warning_and_override(login_as: Any, world: Any, session: Any) -> None:
    courted = LeadFactory(title="保密的线索名称", owner=world.other_officer, park=world.park_b)
    session.commit()
    enterprise = courted.enterprise

    officer = login_as(world.officer)
    page = text(officer.post("/leads/new", data=_lead_form(enterprise, world)))
    assert "李专员" in page and "新型显示产业园" in page
    assert "保密的线索名称" not in page
    assert "confirm_duplicate" not in page  # an officer cannot override
    officer.post("/leads/new", data=_lead_form(enterprise, world, confirm_duplicate="y"))
    assert count(session, Lead) == 1

    manager = login_as(world.manager)
    page = text(manager.post("/leads/new", data=_lead_form(enterprise, world)))
    assert "confirm_duplicate" in page and "李专员" in page
    assert count(session, Lead) == 1
    response = manager.post("/leads/new", data=_lead_form(enterprise, world, confirm_duplicate="y"))
    assert response.status_code == 302
    assert count(session, Lead) == 2


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("estimated_investment", "abc", "无法识别的金额：abc"),
        ("estimated_investment", "-3亿", "金额不能为负数"),
        ("title", "长" * 121, "120"),
        ("title", "", "请填写线索名称。"),
        ("enterprise", "", "请填写企业。"),
    ],
)
def test_bad_lead_inputs_write_nothing(
    login_as: Any, world: Any, session: Any, field: str, value: str, message: str
) -> None:
    enterprise = EnterpriseFactory()
    session.commit()
    client = login_as(world.officer)
    response = client.post("/leads/new", data=_lead_form(enterprise, world, **{field: value}))
    assert response.status_code in (200, 422)
    found = errors(text(response))
    assert any(message in e for e in found), found
    assert count(session, Lead) == 0
    assert count(session, StageChange) == 0


def test_over_long_title_message_is_chinese(login_as: Any, world: Any, session: Any) -> None:
    enterprise = EnterpriseFactory()
    client = login_as(world.officer)
    page = text(client.post("/leads/new", data=_lead_form(enterprise, world, title="长" * 121)))
    [message] = [e for e in errors(page) if "120" in e]
    assert re.search(r"[\u4e00-\u9fff]", message), message


def _edit_form(lead: Lead, **overrides: Any) -> dict[str, Any]:
    data = {
        "title": lead.title,
        "park_id": str(lead.park_id),
        "source": lead.source.value,
        "chain_link_id": str(lead.chain_link_id or ""),
        "estimated_investment": str(lead.estimated_investment or ""),
        "description": lead.description or "",
        "version": str(lead.version),
    }
    data.update(overrides)
    return data


def _version_on_page(html: str) -> str:
    match = re.search(r'name="version" type="hidden" value="(\d+)"', html) or re.search(
        r'type="hidden" name="version" value="(\d+)"', html
    )
    assert match, "no version field"
    return match.group(1)


def test_edit_lead_saves_and_is_audited(
    login_as: Any, world: Any, session: Any, scene: SimpleNamespace
) -> None:
    client = login_as(world.officer)
    lead = scene.lead_a
    form = text(client.get(f"/leads/{lead.id}/edit"))
    assert _version_on_page(form) == "1"
    response = client.post(
        f"/leads/{lead.id}/edit",
        data=_edit_form(lead, title="改名后的线索", estimated_investment="35000万"),
    )
    assert response.status_code == 302
    session.expire_all()
    assert (lead.title, lead.estimated_investment, lead.version) == (
        "改名后的线索",
        Decimal("3.5"),
        2,
    )
    page = text(client.get(f"/leads/{lead.id}"))
    history = page[page.index("修改历史") :]
    assert "甲园区张专员线索" in history and "改名后的线索" in history and "张专员" in history


def test_history_names_parks_owners_links_and_stages(
    login_as: Any, world: Any, session: Any, scene: SimpleNamespace
) -> None:
    """The change history shows what the audit log's ids and codes stand for."""
    lead = scene.lead_a
    stage, source = lead.stage, lead.source
    assert (stage, source) != (Stage.NEGOTIATING, LeadSource.EXHIBITION)
    lead.park, lead.owner = world.park_b, world.other_officer
    lead.chain_link, lead.stage, lead.source = None, Stage.NEGOTIATING, LeadSource.EXHIBITION
    session.commit()

    page = text(login_as(world.admin).get(f"/leads/{lead.id}"))

    history = page[page.index("修改历史") :]
    cells = re.findall(r'<td class="text-break">([^<]*)</td>', history)
    changes = list(zip(cells[::2], cells[1::2], strict=True))
    assert ("集成电路产业园", "新型显示产业园") in changes
    assert ("张专员", "李专员") in changes
    assert ("芯 · 芯片设计", "") in changes
    assert (stage.label, "洽谈") in changes
    assert (source.label, "展会推介") in changes


def test_two_people_editing_the_same_lead(
    login_as: Any, world: Any, session: Any, scene: SimpleNamespace
) -> None:
    lead = scene.lead_a
    officer_form = _edit_form(lead)
    manager_form = _edit_form(lead)
    assert officer_form["version"] == manager_form["version"] == "1"

    first = login_as(world.officer).post(
        f"/leads/{lead.id}/edit", data={**officer_form, "title": "专员保存的名称"}
    )
    assert first.status_code == 302

    second = login_as(world.manager).post(
        f"/leads/{lead.id}/edit",
        data={**manager_form, "title": "主任保存的名称", "estimated_investment": "99"},
    )
    assert second.status_code in (200, 409, 422)
    page = text(second)
    assert "该记录已被他人修改" in page
    assert "主任保存的名称" in page  # the second user's input is kept in the form
    session.expire_all()
    assert (lead.title, lead.estimated_investment, lead.version) == (
        "专员保存的名称",
        Decimal("2"),
        2,
    )


def test_edit_with_bad_input_keeps_the_lead(
    login_as: Any, world: Any, session: Any, scene: SimpleNamespace
) -> None:
    lead = scene.lead_a
    client = login_as(world.officer)
    for overrides, message in (
        ({"title": "长" * 121}, "120"),
        ({"estimated_investment": "abc"}, "无法识别的金额"),
        ({"estimated_investment": "100001亿"}, "金额过大"),
    ):
        response = client.post(f"/leads/{lead.id}/edit", data=_edit_form(lead, **overrides))
        assert response.status_code in (200, 422)
        assert any(message in e for e in errors(text(response))), overrides
    session.expire_all()
    assert (lead.title, lead.version) == ("甲园区张专员线索", 1)


def test_create_project_with_amounts_and_skipped_stages(
    login_as: Any, world: Any, session: Any, scene: SimpleNamespace
) -> None:
    client = login_as(world.manager)
    data = {
        "name": "芯片封测基地",
        "park_id": str(world.park_a.id),
        "chain_link_id": "",
        "total_investment": "12亿",
        "fixed_asset_investment": "80000万",
        "stage-target": "construction",
        "stage-effective_on": ago(5).isoformat(),
        "stage-skip_contacted": ago(90).isoformat(),
        "stage-skip_negotiating": ago(60).isoformat(),
        "stage-skip_signed": ago(30).isoformat(),
    }
    response = client.post(f"/leads/{scene.lead_a.id}/projects/new", data=data)
    assert response.status_code == 302, errors(text(response))
    project = session.scalar(select(Project).where(Project.name == "芯片封测基地"))
    assert (project.total_investment, project.fixed_asset_investment) == (
        Decimal("12"),
        Decimal("8"),
    )
    assert (project.stage, project.signed_on, project.construction_on) == (
        Stage.CONSTRUCTION,
        ago(30),
        ago(5),
    )
    rows = session.scalars(
        select(StageChange).where(StageChange.project_id == project.id).order_by(StageChange.id)
    ).all()
    assert [(r.to_stage, r.effective_on) for r in rows] == [
        (Stage.LEAD, ago(90)),
        (Stage.CONTACTED, ago(90)),
        (Stage.NEGOTIATING, ago(60)),
        (Stage.SIGNED, ago(30)),
        (Stage.CONSTRUCTION, ago(5)),
    ]


def test_create_project_refusals_write_nothing(
    login_as: Any, world: Any, session: Any, scene: SimpleNamespace
) -> None:
    client = login_as(world.manager)
    base = {
        "name": "甲园区张专员项目",  # taken by scene.project_a for the same enterprise
        "park_id": str(world.park_a.id),
        "chain_link_id": "",
        "total_investment": "12亿",
        "stage-target": "lead",
        "stage-effective_on": TODAY.isoformat(),
    }
    cases = [
        ({}, "该企业已有同名项目"),
        ({"name": "新项目", "fixed_asset_investment": "13亿"}, "固定资产投资不能大于总投资。"),
        ({"name": "新项目", "stage-target": "signed"}, "跳过“接洽”阶段时须填写其日期。"),
        ({"name": "新项目", "total_investment": "abc"}, "无法识别的金额"),
    ]
    before = (count(session, Project), count(session, StageChange))
    for overrides, message in cases:
        response = client.post(f"/leads/{scene.lead_a.id}/projects/new", data={**base, **overrides})
        assert response.status_code in (200, 422)
        found = errors(text(response))
        assert any(message in e for e in found), (overrides, found)
    assert (count(session, Project), count(session, StageChange)) == before


# --- contacts -------------------------------------------------------------------------------


def _contact_form(**overrides: Any) -> dict[str, Any]:
    data = {
        "contact-contact_type": "visit",
        "contact-contact_on": TODAY.isoformat(),
        "contact-participants": "王总、李主任",
        "contact-summary": "到企业总部洽谈二期用地",
        "contact-next_step": "",
        "contact-next_step_due": "",
    }
    data.update(overrides)
    return data


def test_log_contact_from_the_detail_page(
    login_as: Any, world: Any, session: Any, scene: SimpleNamespace
) -> None:
    client = login_as(world.officer)
    lead = scene.lead_a
    response = client.post(
        f"/leads/{lead.id}/contacts",
        data=_contact_form(
            **{"contact-next_step": "报送投资协议草案", "contact-next_step_due": TODAY.isoformat()}
        ),
    )
    assert response.status_code == 302
    session.expire_all()
    assert (lead.last_contact_on, lead.next_step) == (TODAY, "报送投资协议草案")
    page = text(client.get(f"/leads/{lead.id}"))
    assert "到企业总部洽谈二期用地" in page and "王总、李主任" in page
    assert "已记录联系。" in page


def test_project_contact_is_shown_on_the_lead(
    login_as: Any, world: Any, session: Any, scene: SimpleNamespace
) -> None:
    client = login_as(world.officer)
    project = scene.project_a
    data = _contact_form(**{"contact-summary": "协调能耗指标"})
    response = client.post(f"/projects/{project.id}/contacts", data=data)
    assert response.status_code == 302
    session.expire_all()
    assert scene.lead_a.last_contact_on == TODAY
    page = text(client.get(f"/leads/{scene.lead_a.id}"))
    assert "协调能耗指标" in page and "项目：甲园区张专员项目" in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"contact-contact_on": "2026-13-45"}, "日期“2026-13-45”无效，请按 YYYY-MM-DD 填写。"),
        ({"contact-contact_on": (TODAY + dt.timedelta(days=1)).isoformat()}, "日期不能晚于今天。"),
        ({"contact-contact_on": ""}, "请填写日期。"),
        ({"contact-contact_on": "   "}, "请填写日期。"),
        ({"contact-summary": ""}, "请填写联系内容。"),
        (
            {
                "contact-contact_on": ago(1).isoformat(),
                "contact-next_step": "回访",
                "contact-next_step_due": ago(2).isoformat(),
            },
            "下一步日期不能早于联系日期。",
        ),
        ({"contact-next_step_due": "20260101"}, "请按 YYYY-MM-DD 填写"),
        ({"contact-next_step": "长" * 201}, "200"),
    ],
)
def test_bad_contacts_are_refused_with_422(
    login_as: Any,
    world: Any,
    session: Any,
    scene: SimpleNamespace,
    overrides: dict[str, str],
    message: str,
) -> None:
    client = login_as(world.officer)
    lead = scene.lead_a
    before = (count(session, ContactLog), lead.last_contact_on, lead.version)
    response = client.post(f"/leads/{lead.id}/contacts", data=_contact_form(**overrides))
    assert response.status_code == 422
    found = errors(text(response))
    assert any(message in e for e in found), found
    session.expire_all()
    assert (count(session, ContactLog), lead.last_contact_on, lead.version) == before


def test_next_step_done(login_as: Any, world: Any, session: Any) -> None:
    lead = LeadFactory(
        owner=world.officer, park=world.park_a, next_step="回访", next_step_due=TODAY
    )
    session.commit()
    client = login_as(world.officer)
    response = client.post(f"/leads/{lead.id}/next-step/done", data={"back": "my"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/my")
    session.expire_all()
    assert lead.next_step is None and lead.next_step_due is None


# --- stage moves ----------------------------------------------------------------------------


def _stage_form(record: Any, target: str, **overrides: Any) -> dict[str, Any]:
    data = {
        "stage-target": target,
        "stage-effective_on": TODAY.isoformat(),
        "stage-reason": "",
        "stage-note": "",
        "stage-version": str(record.version),
    }
    data.update({f"stage-{k}": v for k, v in overrides.items()})
    return data


def test_manager_moves_a_stage_with_skipped_dates(
    login_as: Any, world: Any, session: Any, scene: SimpleNamespace
) -> None:
    lead = scene.lead_a
    client = login_as(world.manager)
    response = client.post(
        f"/leads/{lead.id}/stage",
        data=_stage_form(
            lead,
            "signed",
            effective_on=ago(2).isoformat(),
            skip_contacted=ago(20).isoformat(),
            skip_negotiating=ago(10).isoformat(),
            note="在区政务中心签约",
        ),
    )
    assert response.status_code == 302
    session.expire_all()
    assert (lead.stage, lead.stage_since, lead.signed_on) == (Stage.SIGNED, ago(2), ago(2))
    rows = session.scalars(select(StageChange).where(StageChange.lead_id == lead.id)).all()
    assert sorted(r.to_stage.value for r in rows) == ["contacted", "negotiating", "signed"]
    page = text(client.get(f"/leads/{lead.id}"))
    assert "阶段已变更为“签约”。" in page
    assert "在区政务中心签约" in page
    assert page.count("王主任 记录") == 3


@pytest.mark.parametrize(
    ("target", "overrides", "message"),
    [
        ("signed", {}, "跳过“接洽”阶段时须填写其日期。"),
        (
            "negotiating",
            {"skip_contacted": ago(1).isoformat(), "effective_on": ago(3).isoformat()},
            "“接洽”的日期须按阶段先后排列，且不晚于生效日期。",
        ),
        ("contacted", {"effective_on": TOMORROW.isoformat()}, "日期不能晚于今天。"),
        ("contacted", {"effective_on": ago(31).isoformat()}, "生效日期不能早于上一次阶段变更"),
        ("contacted", {"effective_on": "2026-13-45"}, "日期“2026-13-45”无效"),
        ("contacted", {"effective_on": " "}, "请填写生效日期。"),
        ("dropped", {}, "终止须填写原因。"),
        ("contacted", {"version": "0"}, "该记录已被他人修改"),
    ],
)
def test_illegal_stage_moves_are_refused_with_422(
    login_as: Any,
    world: Any,
    session: Any,
    scene: SimpleNamespace,
    target: str,
    overrides: dict[str, str],
    message: str,
) -> None:
    lead = scene.lead_a
    client = login_as(world.manager)
    before = (count(session, StageChange), count(session, StageProposal))
    response = client.post(f"/leads/{lead.id}/stage", data=_stage_form(lead, target, **overrides))
    assert response.status_code == 422
    found = errors(text(response))
    assert any(message in e for e in found), found
    session.expire_all()
    assert (lead.stage, lead.version) == (Stage.LEAD, 1)
    assert (count(session, StageChange), count(session, StageProposal)) == before


@pytest.mark.parametrize("target", ["lead", "nonsense"])
def test_a_target_not_allowed_from_the_stage_is_refused(
    login_as: Any, world: Any, session: Any, target: str
) -> None:
    lead = LeadFactory(owner=world.officer, park=world.park_a, stage=Stage.CONTACTED)
    session.commit()
    client = login_as(world.manager)
    page = text(client.get(f"/leads/{lead.id}"))
    assert '<option value="lead"' not in page[page.index("变更阶段") :]
    response = client.post(f"/leads/{lead.id}/stage", data=_stage_form(lead, target))
    assert response.status_code == 422
    assert [e for e in errors(text(response)) if e] == ["不是有效的选择。"]
    session.expire_all()
    assert lead.stage is Stage.CONTACTED


def test_terminal_record_shows_no_stage_form(login_as: Any, world: Any, session: Any) -> None:
    lead = LeadFactory(owner=world.officer, park=world.park_a, stage=Stage.DROPPED)
    session.commit()
    page = text(login_as(world.officer).get(f"/leads/{lead.id}"))
    assert "记录联系" in page and 'id="change-stage"' not in page


# --- proposals ------------------------------------------------------------------------------


@pytest.fixture
def negotiating(session: Any, world: Any) -> Lead:
    lead = LeadFactory(
        title="洽谈中的线索",
        owner=world.officer,
        park=world.park_a,
        stage=Stage.NEGOTIATING,
        stage_since=ago(40),
    )
    session.commit()
    return lead


def _propose(login_as: Any, world: Any, session: Any, lead: Lead) -> StageProposal:
    client = login_as(world.officer)
    response = client.post(
        f"/leads/{lead.id}/stage",
        data=_stage_form(lead, "signed", effective_on=ago(3).isoformat(), note="已草签"),
    )
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "阶段变更已提交，等待园区负责人确认。" in page
    assert "张专员 申请将阶段变更为“签约”" in page
    return session.scalar(select(StageProposal))


def test_proposal_confirm_flow(login_as: Any, world: Any, session: Any, negotiating: Lead) -> None:
    proposal = _propose(login_as, world, session, negotiating)
    session.expire_all()
    assert negotiating.stage is Stage.NEGOTIATING
    # The officer cannot propose again while one is pending.
    again = login_as(world.officer).post(
        f"/leads/{negotiating.id}/stage", data=_stage_form(negotiating, "on_hold")
    )
    assert again.status_code == 422
    assert "已有一项阶段变更等待园区负责人确认" in text(again)

    # 赵主任 runs the other park: he neither sees nor decides it.
    other = login_as(world.other_manager)
    assert "洽谈中的线索" not in text(other.get("/proposals"))
    assert other.post(f"/proposals/{proposal.id}/confirm", data={}).status_code == 404

    manager = login_as(world.manager)
    listing = text(manager.get("/proposals"))
    assert "洽谈中的线索" in row_of(listing, "洽谈中的线索")
    assert "张专员" in row_of(listing, "洽谈中的线索")
    assert "已草签" in row_of(listing, "洽谈中的线索")
    response = manager.post(f"/proposals/{proposal.id}/confirm", data={"note": "同意"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/proposals")

    session.expire_all()
    assert (negotiating.stage, negotiating.signed_on) == (Stage.SIGNED, ago(3))
    assert proposal.status is ProposalStatus.CONFIRMED
    [change] = session.scalars(
        select(StageChange).where(StageChange.lead_id == negotiating.id)
    ).all()
    assert (change.recorded_by_id, change.confirmed_by_id) == (world.officer.id, world.manager.id)
    assert "没有待确认的变更" in text(manager.get("/proposals"))
    detail = text(manager.get(f"/leads/{negotiating.id}"))
    assert "张专员 记录" in detail and "王主任 确认" in detail


def test_proposal_reject_flow(login_as: Any, world: Any, session: Any, negotiating: Lead) -> None:
    proposal = _propose(login_as, world, session, negotiating)
    manager = login_as(world.manager)
    detail = text(manager.get(f"/leads/{negotiating.id}"))
    assert f"/proposals/{proposal.id}/confirm" in detail  # decided from the detail page too

    response = manager.post(f"/proposals/{proposal.id}/reject", data={"note": "  "})
    assert response.status_code == 302
    assert "退回须填写原因。" in text(manager.get(response.headers["Location"]))
    session.expire_all()
    assert proposal.status is ProposalStatus.PENDING

    response = manager.post(
        f"/proposals/{proposal.id}/reject", data={"note": "合同尚未盖章", "back": "detail"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/leads/{negotiating.id}")
    session.expire_all()
    assert (proposal.status, proposal.decision_note) == (ProposalStatus.REJECTED, "合同尚未盖章")
    assert negotiating.stage is Stage.NEGOTIATING
    assert count(session, StageChange, StageChange.lead_id == negotiating.id) == 0
    # Deciding again is refused.
    response = manager.post(f"/proposals/{proposal.id}/confirm", data={})
    assert "该申请已处理。" in text(manager.get(response.headers["Location"]))
    session.expire_all()
    assert negotiating.stage is Stage.NEGOTIATING


def test_officer_moves_to_contacted_directly(
    login_as: Any, world: Any, session: Any, scene: SimpleNamespace
) -> None:
    lead = scene.lead_a
    response = login_as(world.officer).post(
        f"/leads/{lead.id}/stage", data=_stage_form(lead, "contacted")
    )
    assert response.status_code == 302
    session.expire_all()
    assert lead.stage is Stage.CONTACTED
    assert count(session, StageProposal) == 0


# --- the board ------------------------------------------------------------------------------


@pytest.fixture
def board_data(session: Any, world: Any) -> SimpleNamespace:
    fresh = LeadFactory(
        title="新鲜线索",
        park=world.park_a,
        stage=Stage.LEAD,
        estimated_investment=Decimal("3.5"),
        last_contact_on=ago(1),
        stage_since=ago(5),
    )
    stale = LeadFactory(
        title="久未联系的线索",
        park=world.park_a,
        stage=Stage.LEAD,
        estimated_investment=Decimal("1.25"),
        last_contact_on=ago(31),
        stage_since=ago(100),
    )
    signed = LeadFactory(
        title="已签约线索",
        park=world.park_a,
        stage=Stage.SIGNED,
        estimated_investment=Decimal("60"),
        last_contact_on=ago(1),
    )
    elsewhere = LeadFactory(
        title="乙园区的线索",
        park=world.park_b,
        stage=Stage.LEAD,
        estimated_investment=Decimal("100"),
    )
    session.commit()
    return SimpleNamespace(fresh=fresh, stale=stale, signed=signed, elsewhere=elsewhere)


def _card(column: str, title: str) -> str:
    match = re.search(
        rf'<div class="card board-card[^"]*">(?:(?!board-card).)*?{title}(?:(?!board-card).)*',
        column,
        re.S,
    )
    assert match, title
    return match.group(0)


def test_board_counts_sums_and_stale_cards(
    login_as: Any, world: Any, board_data: SimpleNamespace
) -> None:
    page = text(login_as(world.manager).get("/board"))
    lead_col = board_column(page, "线索")
    assert re.search(r'class="fw-semibold"[^>]*>2</a>', lead_col)
    assert "4.75 亿元" in lead_col
    signed_col = board_column(page, "签约")
    assert re.search(r'class="fw-semibold"[^>]*>1</a>', signed_col)
    assert "60.00 亿元" in signed_col
    assert BIG_BADGE.format(50) in signed_col
    empty = board_column(page, "开工")
    assert re.search(r'class="fw-semibold"[^>]*>0</a>', empty) and "0.00 亿元" in empty
    assert "乙园区的线索" not in page

    stale = _card(lead_col, "久未联系的线索")
    assert 'board-card mb-2 stale"' in stale
    assert f"最近联系：{ago(31).isoformat()}" in stale
    assert "本阶段已 100 天" in stale
    fresh = _card(lead_col, "新鲜线索")
    assert "stale" not in fresh.split(">")[0] and "最近联系" not in fresh


def test_board_for_all_parks_and_projects(
    login_as: Any, world: Any, session: Any, board_data: SimpleNamespace
) -> None:
    ProjectFactory(lead=board_data.signed, total_investment=Decimal("12.5"), stage=Stage.SIGNED)
    ProjectFactory(lead=board_data.signed, total_investment=Decimal("7.5"), stage=Stage.SIGNED)
    session.commit()
    client = login_as(world.leader)
    page = text(client.get("/board"))
    lead_col = board_column(page, "线索")
    assert re.search(r'class="fw-semibold"[^>]*>3</a>', lead_col)
    assert "104.75 亿元" in lead_col
    projects = text(client.get("/board?kind=projects"))
    assert "20.00 亿元" in board_column(projects, "签约")
    only_b = text(client.get(f"/board?park={world.park_b.id}"))
    assert "乙园区的线索" in only_b and "新鲜线索" not in only_b


def test_board_shows_the_largest_cards_of_each_stage(
    login_as: Any, world: Any, session: Any
) -> None:
    from app.pipeline.queries import BOARD_CARDS, board

    here = {"owner": world.officer, "park": world.park_a, "stage": Stage.NEGOTIATING}
    for n in range(BOARD_CARDS + 3):
        LeadFactory(title=f"有金额{n:02d}", estimated_investment=Decimal(n + 1), **here)
    for n in range(2):
        LeadFactory(title=f"无金额{n}", estimated_investment=None, **here)
    session.commit()

    columns = {c.stage: c for c in board(session, world.manager, Lead, world.park_a.id)}
    column = columns[Stage.NEGOTIATING]
    assert column.count == BOARD_CARDS + 5
    # The largest known amounts, largest first; records without an amount only after them.
    assert [c.display_name for c in column.cards] == [
        f"有金额{n:02d}" for n in range(BOARD_CARDS + 2, 2, -1)
    ]
    small = board(session, world.manager, Lead, world.park_a.id, cards_per_column=20)
    names = [c.display_name for c in {c.stage: c for c in small}[Stage.NEGOTIATING].cards]
    assert names[-2:] == ["无金额1", "无金额0"]  # newest first among the unknown amounts
    assert len(names) == BOARD_CARDS + 5

    page = text(login_as(world.manager).get("/board"))
    col = board_column(page, "洽谈")
    assert col.count("board-card") == BOARD_CARDS
    assert f"查看全部 {BOARD_CARDS + 5} 条" in col
    assert "有金额12" in col and "有金额02" not in col and "无金额" not in col


# --- my work --------------------------------------------------------------------------------


def test_my_work_lists_overdue_due_and_stale(login_as: Any, world: Any, session: Any) -> None:
    mine = {"owner": world.officer, "park": world.park_a}
    LeadFactory(title="逾期的线索", next_step="报送材料", next_step_due=ago(2), **mine)
    LeadFactory(title="今天到期的线索", next_step="电话回访", next_step_due=TODAY, **mine)
    LeadFactory(title="很久没联系的线索", last_contact_on=ago(45), **mine)
    LeadFactory(title="没有待办的线索", **mine)
    later = TODAY + dt.timedelta(days=40)
    LeadFactory(title="下月到期的线索", next_step="考察", next_step_due=later, **mine)
    LeadFactory(
        title="别人的逾期线索",
        owner=world.other_officer,
        park=world.park_a,
        next_step="x",
        next_step_due=ago(2),
    )
    carrier = LeadFactory(title="承载项目的线索", **mine)
    ProjectFactory(lead=carrier, name="逾期的项目", next_step="协调用地", next_step_due=ago(5))
    session.commit()

    page = text(login_as(world.officer).get("/my"))
    overdue = section(page, "逾期的下一步工作")
    due = section(page, "本周到期的下一步工作")
    stale = section(page, "30天以上未联系</h2>")
    assert "逾期的线索" in overdue and "逾期的项目" in overdue
    assert "今天到期的线索" not in overdue and "下月到期的线索" not in overdue
    assert "今天到期的线索" in due and "逾期的线索" not in due and "下月到期的线索" not in due
    assert "很久没联系的线索" in stale and "没有待办的线索" not in stale
    assert "别人的逾期线索" not in page
    # The counters: 6 active leads, 1 due this week, 2 overdue, 1 stale.
    counters = re.findall(r'<div class="fs-4 fw-semibold">(\d+)</div>', page)
    assert counters == ["6", "1", "2", "1"]


# --- thresholds -----------------------------------------------------------------------------


def test_thresholds_page_shows_current_values(login_as: Any, world: Any, session: Any) -> None:
    lead = LeadFactory(park=world.park_a)
    ProjectFactory(lead=lead, total_investment=Decimal("60"))
    ProjectFactory(lead=lead, total_investment=Decimal("6"))
    ProjectFactory(lead=lead, total_investment=Decimal("1"))
    session.commit()
    page = text(login_as(world.admin).get("/admin/thresholds"))
    assert 'value="5.00"' in page and 'value="50.00"' in page
    assert "当前达到此门槛的项目：2 个" in page
    assert "当前达到此门槛的项目：1 个" in page


@pytest.mark.parametrize(
    ("major", "big", "message"),
    [
        ("50", "5", "重大项目门槛必须小于大项目门槛。"),
        ("5", "5", "重大项目门槛必须小于大项目门槛。"),
        ("0", "50", "门槛必须大于0。"),
        ("abc", "50", "无法识别的金额：abc"),
        ("", "50", "请填写门槛。"),
        (" ", "50", "请填写门槛。"),
        ("5", "-1", "金额不能为负数"),
    ],
)
def test_thresholds_page_refuses_nonsense(
    login_as: Any, world: Any, session: Any, major: str, big: str, message: str
) -> None:
    client = login_as(world.admin)
    response = client.post("/admin/thresholds", data={"major": major, "big": big})
    assert response.status_code in (200, 422)
    found = errors(text(response))
    assert any(message in e for e in found), found
    assert count(session, Setting) == 0


def test_thresholds_page_saves_and_badges_follow(login_as: Any, world: Any, session: Any) -> None:
    LeadFactory(title="二十亿线索", estimated_investment=Decimal("20"), park=world.park_a)
    session.commit()
    client = login_as(world.admin)
    response = client.post("/admin/thresholds", data={"major": "3亿", "big": "200000万"})
    assert response.status_code == 302
    g.pop("thresholds", None)
    page = text(client.get(response.headers["Location"]))
    assert "门槛已保存" in page
    assert 'value="3.00"' in page and 'value="20.00"' in page
    g.pop("thresholds", None)
    listing = text(client.get("/leads"))
    assert BIG_BADGE.format(20) in row_of(listing, "二十亿线索")


# --- projects through the pages -------------------------------------------------------------


def test_officer_creating_a_signed_project_proposes_the_move(
    login_as: Any, world: Any, session: Any, scene: SimpleNamespace
) -> None:
    client = login_as(world.officer)
    data = {
        "name": "显示模组二期",
        "park_id": str(world.park_a.id),
        "chain_link_id": "",
        "total_investment": "6亿",
        "stage-target": "signed",
        "stage-effective_on": ago(1).isoformat(),
        "stage-skip_contacted": ago(20).isoformat(),
        "stage-skip_negotiating": ago(10).isoformat(),
    }
    response = client.post(f"/leads/{scene.lead_a.id}/projects/new", data=data)
    assert response.status_code == 302, errors(text(response))
    project = session.scalar(select(Project).where(Project.name == "显示模组二期"))
    assert project.owner_id == world.officer.id
    assert project.stage is Stage.LEAD and project.stage_since == ago(20)
    [proposal] = session.scalars(select(StageProposal)).all()
    assert (proposal.project_id, proposal.to_stage) == (project.id, Stage.SIGNED)
    page = text(client.get(response.headers["Location"]))
    assert "已创建项目。" in page and "阶段变更已提交，等待园区负责人确认。" in page

    manager = login_as(world.manager)
    assert "显示模组二期" in text(manager.get("/proposals"))
    manager.post(f"/proposals/{proposal.id}/confirm", data={})
    session.expire_all()
    assert (project.stage, project.signed_on) == (Stage.SIGNED, ago(1))


def test_edit_project(login_as: Any, world: Any, session: Any, scene: SimpleNamespace) -> None:
    project = scene.project_a
    client = login_as(world.officer)
    assert client.get(f"/projects/{project.id}/edit").status_code == 200
    form = {
        "name": project.name,
        "park_id": str(project.park_id),
        "chain_link_id": "",
        "total_investment": "150000万",
        "fixed_asset_investment": "10亿",
        "planned_construction_on": (TODAY + dt.timedelta(days=30)).isoformat(),
        "planned_production_on": (TODAY + dt.timedelta(days=300)).isoformat(),
        "version": str(project.version),
    }
    response = client.post(f"/projects/{project.id}/edit", data=form)
    assert response.status_code == 302, errors(text(response))
    session.expire_all()
    assert (project.total_investment, project.fixed_asset_investment) == (
        Decimal("15"),
        Decimal("10"),
    )
    assert project.planned_production_on == TODAY + dt.timedelta(days=300)
    assert project.version == 2

    # The same form again (version 1): refused, the saved data stays.
    stale = client.post(f"/projects/{project.id}/edit", data={**form, "total_investment": "1"})
    assert "该记录已被他人修改" in text(stale)
    # Planned dates out of order, fixed investment above the total: refused.
    for overrides, message in (
        ({"planned_production_on": TODAY.isoformat()}, "计划日期须按"),
        ({"fixed_asset_investment": "20亿"}, "固定资产投资不能大于总投资。"),
    ):
        response = client.post(
            f"/projects/{project.id}/edit", data={**form, "version": "2", **overrides}
        )
        assert any(message in e for e in errors(text(response))), overrides
    session.expire_all()
    assert (project.total_investment, project.version) == (Decimal("15"), 2)


def test_manager_moves_a_project_stage(
    login_as: Any, world: Any, session: Any, scene: SimpleNamespace
) -> None:
    project = scene.project_a  # signed 20 days ago
    client = login_as(world.manager)
    response = client.post(
        f"/projects/{project.id}/stage",
        data=_stage_form(project, "construction", effective_on=ago(2).isoformat()),
    )
    assert response.status_code == 302
    session.expire_all()
    assert (project.stage, project.construction_on) == (Stage.CONSTRUCTION, ago(2))
    [change] = session.scalars(select(StageChange).where(StageChange.project_id == project.id))
    assert (change.from_stage, change.to_stage) == (Stage.SIGNED, Stage.CONSTRUCTION)
    assert scene.lead_a.stage is Stage.LEAD


def test_hold_and_resume_through_the_page(
    login_as: Any, world: Any, session: Any, negotiating: Lead
) -> None:
    client = login_as(world.officer)
    url = f"/leads/{negotiating.id}/stage"
    assert client.post(url, data=_stage_form(negotiating, "on_hold")).status_code == 302
    session.expire_all()
    assert (negotiating.stage, negotiating.held_from) == (Stage.ON_HOLD, Stage.NEGOTIATING)
    page = text(client.get(f"/leads/{negotiating.id}"))
    choices = re.findall(r'<option value="(\w+)"', page[page.index('id="change-stage"') :])
    assert choices == ["negotiating", "dropped"]
    assert client.post(url, data=_stage_form(negotiating, "signed")).status_code == 422
    assert client.post(url, data=_stage_form(negotiating, "negotiating")).status_code == 302
    session.expire_all()
    assert (negotiating.stage, negotiating.held_from) == (Stage.NEGOTIATING, None)


def test_reassign_with_a_stale_version(
    login_as: Any, world: Any, session: Any, scene: SimpleNamespace
) -> None:
    client = login_as(world.manager)
    data = {"reassign-owner_id": str(world.other_officer.id), "reassign-version": "0"}
    response = client.post(f"/leads/{scene.lead_a.id}/reassign", data=data)
    assert response.status_code == 422
    assert "该记录已被他人修改" in text(response)
    session.expire_all()
    assert scene.lead_a.owner_id == world.officer.id


def test_new_lead_form_prefills_the_enterprise(login_as: Any, world: Any, session: Any) -> None:
    enterprise = EnterpriseFactory()
    session.commit()
    page = text(login_as(world.officer).get(f"/leads/new?enterprise_id={enterprise.id}"))
    assert f'value="{enterprise.credit_code}"' in page
