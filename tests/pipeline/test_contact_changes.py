"""A logged contact corrected or removed: by whom, what follows on the record (last contact, next
step, stale date), the version, the audit log, and the record page's forms."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.exceptions import Forbidden

from app.core.audit import AuditLog
from app.core.db import StaleVersionError
from app.core.timeutil import today_local
from app.pipeline import services
from app.pipeline.lifecycle import STALE_DAYS
from app.pipeline.models import ContactLog, ContactType, Lead, Project
from app.pipeline.services import PipelineError
from tests.factories import LeadFactory, ProjectFactory
from tests.pipeline.helpers import count

pytestmark = pytest.mark.usefixtures("ctx")

TODAY = today_local()


def ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


@pytest.fixture
def lead(world: Any) -> Lead:
    return LeadFactory(owner=world.officer, park=world.park_a, stage_since=ago(200))


def _log(session: Any, user: Any, record: Lead | Project, **kw: Any) -> ContactLog:
    kw.setdefault("contact_type", ContactType.VISIT)
    kw.setdefault("contact_on", TODAY)
    kw.setdefault("summary", "拜访企业，介绍园区政策。")
    return services.log_contact(session, user, record, **kw)


def _correct(session: Any, user: Any, record: Any, contact: ContactLog, **kw: Any) -> ContactLog:
    values = {
        "contact_type": contact.contact_type,
        "contact_on": contact.contact_on,
        "summary": contact.summary,
        "participants": contact.participants,
        "next_step": contact.next_step,
        "next_step_due": contact.next_step_due,
        **kw,
    }
    return services.correct_contact(
        session, user, record, contact, version=contact.version, **values
    )


def _audit(session: Any, contact_id: int, action: str) -> dict[str | None, str | None]:
    rows = session.scalars(
        select(AuditLog).where(
            AuditLog.entity == "contact_log",
            AuditLog.entity_id == contact_id,
            AuditLog.action == action,
        )
    )
    return {row.field: row.old_value for row in rows}


# --- services ---------------------------------------------------------------------------------


def test_a_correction_changes_the_contact_and_keeps_the_old_values(
    session: Any, world: Any, lead: Lead
) -> None:
    contact = _log(session, world.officer, lead, contact_on=ago(3), participants="王总")
    _correct(
        session,
        world.officer,
        lead,
        contact,
        contact_type=ContactType.PHONE,
        summary="电话沟通用地需求",
        participants="王总、李经理",
    )
    session.expire_all()
    stored = session.get(ContactLog, contact.id)
    assert (stored.contact_type, stored.summary, stored.participants, stored.version) == (
        ContactType.PHONE,
        "电话沟通用地需求",
        "王总、李经理",
        2,
    )
    assert _audit(session, contact.id, "update") == {
        "contact_type": "visit",
        "summary": "拜访企业，介绍园区政策。",
        "participants": "王总",
    }


def test_correcting_the_latest_date_moves_the_last_contact_back(
    session: Any, world: Any, lead: Lead
) -> None:
    project = ProjectFactory(lead=lead, owner=world.officer)
    _log(session, world.officer, lead, contact_on=ago(20))
    latest = _log(session, world.officer, project, contact_on=ago(1))
    assert (lead.last_contact_on, project.last_contact_on) == (ago(1), ago(1))

    # The date was mistyped: the visit was 40 days ago.
    _correct(session, world.officer, project, latest, contact_on=ago(40))
    assert lead.last_contact_on == ago(20)
    assert project.last_contact_on == ago(40)
    # The stored stale date follows the last contact (lists and digests read it).
    assert project.stale_on == ago(40) + dt.timedelta(days=STALE_DAYS + 1)


def test_the_next_step_follows_while_the_record_still_shows_it(
    session: Any, world: Any, lead: Lead
) -> None:
    contact = _log(session, world.officer, lead, next_step="报送项目建议书", next_step_due=TODAY)
    _correct(session, world.officer, lead, contact, next_step="报送可研报告")
    assert (lead.next_step, lead.next_step_due) == ("报送可研报告", TODAY)

    # A later contact gave the record another step: correcting the earlier one leaves it.
    _log(session, world.officer, lead, next_step="安排考察", next_step_due=TODAY)
    _correct(session, world.officer, lead, contact, next_step="改过的一步")
    assert (lead.next_step, lead.next_step_due) == ("安排考察", TODAY)


def test_a_correction_is_checked_as_a_new_contact(session: Any, world: Any, lead: Lead) -> None:
    contact = _log(session, world.officer, lead, contact_on=ago(2))
    for change, field in (
        ({"contact_on": TODAY + dt.timedelta(days=1)}, "contact_on"),
        ({"summary": "   "}, "summary"),
        ({"next_step": None, "next_step_due": TODAY}, "next_step"),
        ({"next_step": "回访", "next_step_due": ago(5)}, "next_step_due"),
    ):
        with pytest.raises(PipelineError) as caught:
            _correct(session, world.officer, lead, contact, **change)
        assert caught.value.field == field
    session.expire_all()
    assert session.get(ContactLog, contact.id).version == 1


def test_a_correction_from_an_outdated_page_is_refused(
    session: Any, world: Any, lead: Lead
) -> None:
    contact = _log(session, world.officer, lead)
    loaded = contact.version
    _correct(session, world.manager, lead, contact, summary="园区负责人补充了内容")
    with pytest.raises(StaleVersionError):
        services.correct_contact(
            session,
            world.officer,
            lead,
            contact,
            version=loaded,
            contact_type=ContactType.VISIT,
            contact_on=TODAY,
            summary="专员的旧页面",
        )
    assert contact.summary == "园区负责人补充了内容"


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("officer", True),  # the author, who owns the record
        ("manager", True),  # manages the record's park
        ("admin", True),
        ("other_manager", False),
        ("leader", False),  # reads everything, changes nothing
    ],
)
def test_who_may_change_a_contact(
    session: Any, world: Any, lead: Lead, who: str, allowed: bool
) -> None:
    contact = _log(session, world.officer, lead)
    user = getattr(world, who)
    if allowed:
        _correct(session, user, lead, contact, summary="更正后的内容")
        services.remove_contact(session, user, lead, contact, version=contact.version)
        assert count(session, ContactLog) == 0
    else:
        with pytest.raises(Forbidden):
            _correct(session, user, lead, contact, summary="更正后的内容")
        with pytest.raises(Forbidden):
            services.remove_contact(session, user, lead, contact, version=contact.version)
        assert count(session, ContactLog) == 1


def test_an_officer_changes_only_his_own_contacts_on_records_he_owns(
    session: Any, world: Any, lead: Lead
) -> None:
    by_manager = _log(session, world.manager, lead)
    by_officer = _log(session, world.officer, lead)
    # The record's owner may not rewrite what his manager logged.
    with pytest.raises(Forbidden):
        _correct(session, world.officer, lead, by_manager, summary="改写")
    # Once the lead is handed to another officer, the author no longer changes it, and the new
    # owner does not change the author's contacts.
    lead.owner = world.other_officer
    session.flush()
    with pytest.raises(Forbidden):
        _correct(session, world.officer, lead, by_officer, summary="改写")
    with pytest.raises(Forbidden):
        _correct(session, world.other_officer, lead, by_officer, summary="改写")


def test_removing_a_contact_reads_the_last_contact_again_and_keeps_its_values(
    session: Any, world: Any, lead: Lead
) -> None:
    earlier = _log(session, world.officer, lead, contact_on=ago(10))
    wrong = _log(
        session,
        world.officer,
        lead,
        contact_on=ago(1),
        summary="记到了错误的线索上",
        next_step="寄送资料",
        next_step_due=TODAY,
    )
    services.remove_contact(session, world.officer, lead, wrong, version=wrong.version)

    assert session.get(ContactLog, wrong.id) is None
    assert lead.last_contact_on == ago(10)
    # The next step came from the removed contact: it goes with it.
    assert (lead.next_step, lead.next_step_due) == (None, None)
    # Nothing is lost: the audit log holds every value the contact had.
    kept = _audit(session, wrong.id, "delete")
    assert kept[None] is None
    assert {key: kept[key] for key in ("lead_id", "contact_on", "summary", "next_step")} == {
        "lead_id": str(lead.id),
        "contact_on": ago(1).isoformat(),
        "summary": "记到了错误的线索上",
        "next_step": "寄送资料",
    }

    services.remove_contact(session, world.officer, lead, earlier, version=earlier.version)
    assert lead.last_contact_on is None


def test_removing_an_older_contact_keeps_a_later_next_step(
    session: Any, world: Any, lead: Lead
) -> None:
    older = _log(session, world.officer, lead, contact_on=ago(5), next_step="回访")
    _log(session, world.officer, lead, next_step="签约准备", next_step_due=TODAY)
    services.remove_contact(session, world.officer, lead, older, version=older.version)
    assert (lead.next_step, lead.last_contact_on) == ("签约准备", TODAY)


def test_removal_from_an_outdated_page_is_refused(session: Any, world: Any, lead: Lead) -> None:
    contact = _log(session, world.officer, lead)
    loaded = contact.version
    _correct(session, world.officer, lead, contact, summary="更正过")
    with pytest.raises(StaleVersionError):
        services.remove_contact(session, world.officer, lead, contact, version=loaded)
    assert count(session, ContactLog) == 1


def test_a_contact_is_found_through_its_own_records_only(
    session: Any, world: Any, lead: Lead
) -> None:
    project = ProjectFactory(lead=lead, owner=world.officer)
    on_lead = _log(session, world.officer, lead)
    on_project = _log(session, world.officer, project)
    other = LeadFactory(owner=world.officer, park=world.park_a)
    assert services.find_contact(session, lead, on_project.id) is on_project
    assert services.find_contact(session, project, on_project.id) is on_project
    assert services.find_contact(session, project, on_lead.id) is None
    assert services.find_contact(session, other, on_lead.id) is None
    assert services.find_contact(session, lead, on_project.id + 1000) is None


# --- the record page ----------------------------------------------------------------------------


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


def test_the_timeline_offers_changes_to_whoever_may_make_them(
    session: Any, world: Any, lead: Lead, login_as: Any
) -> None:
    own = _log(session, world.officer, lead, summary="专员自己的记录")
    managers = _log(session, world.manager, lead, summary="负责人的记录")
    session.commit()

    def offered(user: Any) -> set[int]:
        page = _text(login_as(user).get(f"/leads/{lead.id}"))
        return {c.id for c in (own, managers) if f"/leads/{lead.id}/contacts/{c.id}/edit" in page}

    assert offered(world.officer) == {own.id}
    assert offered(world.manager) == {own.id, managers.id}
    assert offered(world.leader) == set()


def test_correcting_a_contact_on_its_page(
    session: Any, world: Any, lead: Lead, login_as: Any
) -> None:
    contact = _log(session, world.officer, lead, contact_on=ago(2), summary="初次拜访")
    session.commit()
    client = login_as(world.officer)
    url = f"/leads/{lead.id}/contacts/{contact.id}/edit"
    page = _text(client.get(url))
    assert "更正联系记录" in page and "初次拜访" in page and ago(2).isoformat() in page

    form = {
        "contact_type": "phone",
        "contact_on": ago(3).isoformat(),
        "participants": "",
        "summary": "电话回访，企业确认来访时间",
        "next_step": "",
        "next_step_due": "",
        "version": "1",
    }
    # A bad value is shown next to its field and changes nothing.
    refused = client.post(url, data={**form, "contact_on": "2026-13-01"})
    assert refused.status_code == 422
    session.expire_all()
    assert session.get(ContactLog, contact.id).summary == "初次拜访"

    response = client.post(url, data=form)
    assert response.status_code == 302 and response.location.endswith(f"/leads/{lead.id}")
    session.expire_all()
    stored = session.get(ContactLog, contact.id)
    assert (stored.summary, stored.contact_on, stored.version) == (
        "电话回访，企业确认来访时间",
        ago(3),
        2,
    )
    assert session.get(Lead, lead.id).last_contact_on == ago(3)
    page = _text(client.get(f"/leads/{lead.id}"))
    assert "已更正联系记录。" in page and "已更正" in page

    # The same form again (version 1) is a conflict: the message says so, nothing is written.
    conflict = client.post(url, data={**form, "summary": "过期页面上的内容"})
    assert conflict.status_code == 422
    assert "该记录已被他人修改" in _text(conflict)
    session.expire_all()
    assert session.get(ContactLog, contact.id).summary == "电话回访，企业确认来访时间"


def test_removing_a_contact_on_the_page(
    session: Any, world: Any, lead: Lead, login_as: Any
) -> None:
    contact = _log(session, world.officer, lead, contact_on=ago(2))
    session.commit()
    client = login_as(world.manager)
    url = f"/leads/{lead.id}/contacts/{contact.id}/delete"

    stale = client.post(url, data={"version": "0"}, follow_redirects=True)
    assert "该记录已被他人修改" in _text(stale)
    assert count(session, ContactLog) == 1

    response = client.post(url, data={"version": "1"})
    assert response.status_code == 302
    session.expire_all()
    assert count(session, ContactLog) == 0
    assert session.get(Lead, lead.id).last_contact_on is None
    assert "已删除联系记录。" in _text(client.get(f"/leads/{lead.id}"))


def test_a_contact_of_another_record_is_not_found_on_this_one(
    session: Any, world: Any, lead: Lead, login_as: Any
) -> None:
    other = LeadFactory(owner=world.officer, park=world.park_a)
    contact = _log(session, world.officer, other)
    session.commit()
    client = login_as(world.officer)
    assert client.get(f"/leads/{lead.id}/contacts/{contact.id}/edit").status_code == 404
    assert client.post(f"/leads/{lead.id}/contacts/{contact.id}/delete").status_code == 404
    assert count(session, ContactLog) == 1


# --- the record's change history --------------------------------------------------------------


def test_the_history_shows_corrections_and_removals_of_the_records_contacts(
    session: Any, world: Any, lead: Lead
) -> None:
    from app.core.audit import set_actor
    from app.pipeline.queries import audit_history

    project = ProjectFactory(lead=lead, owner=world.officer)
    set_actor(session, world.officer.id)
    corrected = _log(session, world.officer, project, contact_on=ago(4), summary="初稿")
    _correct(session, world.officer, project, corrected, contact_type=ContactType.PHONE)
    removed = _log(session, world.officer, project, contact_on=ago(2), summary="记错了线索")
    services.remove_contact(session, world.officer, project, removed, version=removed.version)
    # Another record's contacts stay out of this one's history.
    other = LeadFactory(owner=world.officer, park=world.park_a)
    gone = _log(session, world.officer, other)
    services.remove_contact(session, world.officer, other, gone, version=gone.version)

    for record in (lead, project):
        contact_lines = [
            line for line in audit_history(session, record).lines if line.subject == "contact"
        ]
        assert [
            (line.action, line.field, line.old_value, line.new_value) for line in contact_lines
        ] == [
            ("delete", None, f"{ago(2).isoformat()} 上门拜访 记错了线索", None),
            ("update", "contact_type", "上门拜访", "电话"),
        ]
        assert {line.actor_name for line in contact_lines} == {"张专员"}


def test_the_page_lists_a_removed_contact_in_the_history(
    session: Any, world: Any, lead: Lead, login_as: Any
) -> None:
    contact = _log(session, world.officer, lead, summary="重复录入的拜访")
    session.commit()
    client = login_as(world.officer)
    client.post(f"/leads/{lead.id}/contacts/{contact.id}/delete", data={"version": "1"})
    page = _text(client.get(f"/leads/{lead.id}"))
    history = page[page.index("修改历史") :]
    assert "删除联系记录" in history and "重复录入的拜访" in history


def test_a_long_history_offers_the_rest_instead_of_cutting_it(
    session: Any, world: Any, lead: Lead, login_as: Any, monkeypatch: Any
) -> None:
    from app.pipeline import queries

    for n in range(4):
        lead.description = f"第{n}次修改说明"
        session.flush()
    history = queries.audit_history(session, lead, limit=3)
    assert (len(history.lines), history.more) == (3, True)
    everything = queries.audit_history(session, lead, limit=None)
    assert len(everything.lines) > 3 and not everything.more
    session.commit()

    monkeypatch.setattr(queries, "HISTORY_SHOWN", 3)
    client = login_as(world.manager)
    page = _text(client.get(f"/leads/{lead.id}"))
    shown = page[page.index("修改历史") :]
    # The three latest changes; the record's creation is among the older ones.
    assert "显示全部修改记录" in shown and "第3次修改说明" in shown and "创建" not in shown
    page = _text(client.get(f"/leads/{lead.id}?history=all"))
    shown = page[page.index("修改历史") :]
    assert "显示全部修改记录" not in shown and "创建" in shown
    assert '<details class="mt-4" id="history" open>' in page
