"""Enterprise services: duplicates, codes, name keys, search, people and the related registry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from app.core.audit import AuditLog
from app.enterprises import services
from app.enterprises.models import Enterprise, EnterpriseContact, Ownership
from app.enterprises.names import normalize_name
from app.enterprises.services import (
    DUPLICATE_CANDIDATE_LIMIT,
    EnterpriseError,
    EnterpriseFilters,
    EnterprisePermissionError,
    PossibleDuplicatesError,
    RelatedSection,
    add_contact_person,
    create_enterprise,
    delete_contact_person,
    find_duplicates,
    register_related,
    related_sections,
    search_enterprises,
    unregister_related,
    update_contact_person,
    update_enterprise,
)
from tests.factories import EnterpriseContactFactory, EnterpriseFactory
from tests.factories import credit_code as numbered_code

BOE = "京东方科技集团股份有限公司"


def credit_code(n: int) -> str:
    """Return a valid code outside the range the factories use."""
    return numbered_code(9_000_000 + n)


BOE_QINGDAO = "京东方科技(青岛)有限公司"


@pytest.fixture(autouse=True)
def _request(app: Flask, session: Any) -> Iterator[None]:
    """Messages are produced for a page; render them in the default (Chinese) locale."""
    with app.test_request_context("/"):
        yield


def _count(session: Any, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


# --- duplicates -------------------------------------------------------------------------------


def test_find_duplicates_by_credit_code(session: Any) -> None:
    existing = EnterpriseFactory(name="海尔智家股份有限公司", credit_code=credit_code(1))
    EnterpriseFactory(name="海信视像科技股份有限公司")

    found = find_duplicates(session, "完全不同的名字有限公司", " " + credit_code(1).lower())

    assert found == [existing]


def test_find_duplicates_by_similar_name(session: Any) -> None:
    boe = EnterpriseFactory(name=BOE)
    EnterpriseFactory(name="青岛啤酒股份有限公司")

    assert find_duplicates(session, BOE_QINGDAO, None) == [boe]
    assert find_duplicates(session, "京东方科技", "") == [boe]


def test_find_duplicates_by_containing_name(session: Any) -> None:
    panel = EnterpriseFactory(name="京东方光电科技有限公司")

    assert find_duplicates(session, "青岛京东方光电科技股份有限公司", None) == [panel]
    assert find_duplicates(session, "京东方光电", None) == [panel]


def test_find_duplicates_ignores_different_names_and_excluded(session: Any) -> None:
    boe = EnterpriseFactory(name=BOE)
    EnterpriseFactory(name="京沪高速铁路股份有限公司")

    assert find_duplicates(session, "海尔智家股份有限公司", None) == []
    assert find_duplicates(session, BOE, boe.credit_code, exclude_id=boe.id) == []


def test_find_duplicates_puts_same_code_first(session: Any) -> None:
    by_name = EnterpriseFactory(name=BOE)
    by_code = EnterpriseFactory(name="北京京东方显示技术有限公司", credit_code=credit_code(7))

    assert find_duplicates(session, BOE_QINGDAO, credit_code(7)) == [by_code, by_name]


def test_find_duplicates_is_one_bounded_query(session: Any, count_queries: Any) -> None:
    for n in range(DUPLICATE_CANDIDATE_LIMIT + 5):
        EnterpriseFactory(name=f"京东方{n:03d}号分厂有限公司")
    session.flush()

    with count_queries() as counter:
        found = find_duplicates(session, "京东方000号分厂有限公司", None)

    assert counter.count == 1
    assert "LIMIT" in counter.statements[0].upper()
    assert found[0].name == "京东方000号分厂有限公司"


def test_find_duplicates_with_nothing_to_match(session: Any) -> None:
    EnterpriseFactory()
    assert find_duplicates(session, "", None) == []
    assert find_duplicates(session, "（）", "  ") == []


# --- create and update ------------------------------------------------------------------------


def test_create_enterprise_normalises_and_keys(session: Any, world: Any) -> None:
    code = credit_code(11)
    spaced = " ".join([code[:6], code[6:12].lower(), code[12:]])

    enterprise = create_enterprise(
        session,
        world.officer,
        name="  京东方科技集团股份有限公司 ",
        credit_code=spaced,
        ownership="soe",
        is_listed=True,
        industry=" 新型显示 ",
        region="",
        website=None,
    )

    assert enterprise.id is not None
    assert enterprise.name == BOE
    assert enterprise.name_key == "京东方科技"
    assert enterprise.credit_code == code
    assert enterprise.ownership is Ownership.SOE
    assert enterprise.is_listed and not enterprise.is_global500
    assert enterprise.industry == "新型显示"
    assert enterprise.region is None
    audit = session.scalars(
        select(AuditLog).where(AuditLog.entity == "enterprise", AuditLog.entity_id == enterprise.id)
    ).all()
    assert [a.action for a in audit] == ["create"]


def test_create_enterprise_without_code_is_allowed(session: Any, world: Any) -> None:
    enterprise = create_enterprise(session, world.manager, name="Samsung Electronics Co., Ltd.")
    assert enterprise.credit_code is None
    assert enterprise.name_key == normalize_name("Samsung Electronics")


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("91370211MA0000001", "应为18位"),
        ("91370211MA000000IX", "不合法"),
        (credit_code(3)[:17] + ("0" if credit_code(3)[17] != "0" else "1"), "校验位错误"),
    ],
)
def test_create_enterprise_rejects_invalid_code(
    session: Any, world: Any, code: str, message: str
) -> None:
    before = _count(session, Enterprise)

    with pytest.raises(EnterpriseError) as info:
        create_enterprise(session, world.officer, name="某某科技有限公司", credit_code=code)

    assert info.value.field == "credit_code"
    assert message in info.value.message
    assert _count(session, Enterprise) == before


def test_create_enterprise_rejects_registered_code(session: Any, world: Any) -> None:
    existing = EnterpriseFactory(name=BOE, credit_code=credit_code(5))
    before = _count(session, Enterprise)

    with pytest.raises(EnterpriseError) as info:
        create_enterprise(session, world.officer, name="另一家有限公司", credit_code=credit_code(5))

    assert info.value.field == "credit_code"
    assert existing.name in info.value.message
    assert _count(session, Enterprise) == before


def test_create_enterprise_same_code_is_refused_even_when_confirmed(
    session: Any, world: Any
) -> None:
    EnterpriseFactory(name=BOE, credit_code=credit_code(5))
    with pytest.raises(EnterpriseError) as info:
        create_enterprise(
            session, world.officer, check_similar=False, name=BOE, credit_code=credit_code(5)
        )
    assert not isinstance(info.value, PossibleDuplicatesError)
    assert info.value.field == "credit_code"


def test_create_enterprise_asks_to_confirm_similar_names(session: Any, world: Any) -> None:
    boe = EnterpriseFactory(name=BOE)
    before = _count(session, Enterprise)

    with pytest.raises(PossibleDuplicatesError) as info:
        create_enterprise(session, world.officer, check_similar=True, name=BOE_QINGDAO)

    assert info.value.duplicates == [boe]
    assert _count(session, Enterprise) == before
    created = create_enterprise(session, world.officer, name=BOE_QINGDAO)
    assert created.name_key == boe.name_key


def test_create_enterprise_requires_a_name(session: Any, world: Any) -> None:
    with pytest.raises(EnterpriseError) as info:
        create_enterprise(session, world.officer, name="   ")
    assert info.value.field == "name"
    with pytest.raises(EnterpriseError) as info:
        create_enterprise(session, world.officer, name="京" * 121)
    assert info.value.field == "name"


def test_create_enterprise_rejects_unknown_ownership_and_fields(session: Any, world: Any) -> None:
    with pytest.raises(EnterpriseError) as info:
        create_enterprise(session, world.officer, name="某某有限公司", ownership="martian")
    assert info.value.field == "ownership"
    with pytest.raises(TypeError):
        create_enterprise(session, world.officer, name="某某有限公司", colour="red")


def test_leader_may_not_change_enterprises(session: Any, world: Any) -> None:
    enterprise = EnterpriseFactory()
    with pytest.raises(EnterprisePermissionError):
        create_enterprise(session, world.leader, name="某某有限公司")
    with pytest.raises(EnterprisePermissionError):
        update_enterprise(session, world.leader, enterprise, name="新名字有限公司")
    with pytest.raises(EnterprisePermissionError):
        add_contact_person(session, world.leader, enterprise, name="王经理")


def test_system_actions_are_allowed(session: Any) -> None:
    enterprise = create_enterprise(session, None, name="导入企业有限公司")
    assert enterprise.id is not None


def test_update_enterprise_keeps_name_key_in_sync(session: Any, world: Any) -> None:
    enterprise = EnterpriseFactory(name="青岛啤酒股份有限公司", credit_code=None)

    update_enterprise(
        session, world.officer, enterprise, name=BOE, credit_code=credit_code(21), is_global500=True
    )

    assert enterprise.name_key == "京东方科技"
    assert enterprise.credit_code == credit_code(21)
    assert enterprise.is_global500
    assert enterprise.version == 2


def test_update_enterprise_may_keep_its_own_code(session: Any, world: Any) -> None:
    enterprise = EnterpriseFactory(name=BOE, credit_code=credit_code(8))
    update_enterprise(session, world.officer, enterprise, name=BOE, credit_code=credit_code(8))
    assert enterprise.credit_code == credit_code(8)


def test_update_enterprise_rejects_a_taken_code_and_changes_nothing(
    session: Any, world: Any
) -> None:
    EnterpriseFactory(name="海尔智家股份有限公司", credit_code=credit_code(30))
    enterprise = EnterpriseFactory(name=BOE, credit_code=credit_code(31))

    with pytest.raises(EnterpriseError) as info:
        update_enterprise(
            session, world.officer, enterprise, name="改名有限公司", credit_code=credit_code(30)
        )

    assert info.value.field == "credit_code"
    session.refresh(enterprise)
    assert (enterprise.name, enterprise.credit_code, enterprise.version) == (
        BOE,
        credit_code(31),
        1,
    )


def test_update_with_stale_version_is_refused(session: Any, world: Any) -> None:
    enterprise = EnterpriseFactory(name=BOE)
    session.flush()
    # Someone else saves in between: the row's version moves on behind our back.
    session.execute(
        Enterprise.__table__.update()
        .where(Enterprise.id == enterprise.id)
        .values(version=enterprise.version + 1, name="他人改过的名字有限公司")
    )

    with pytest.raises(StaleDataError):
        update_enterprise(session, world.officer, enterprise, name="我改的名字有限公司")

    session.expire_all()
    assert session.get(Enterprise, enterprise.id).name == "他人改过的名字有限公司"


# --- search -----------------------------------------------------------------------------------


def _names(session: Any, q: str | None, filters: EnterpriseFilters | None = None) -> list[str]:
    return [e.name for e in session.scalars(search_enterprises(session, q, filters))]


def test_search_by_name_key_and_code(session: Any) -> None:
    boe = EnterpriseFactory(name=BOE, credit_code=credit_code(40))
    EnterpriseFactory(name="青岛啤酒股份有限公司")

    assert _names(session, "京东方") == [BOE]
    assert _names(session, "京东方科技（青岛）") == [BOE]
    assert _names(session, boe.credit_code.lower()) == [BOE]
    assert _names(session, boe.credit_code[:12]) == [BOE]
    assert _names(session, "100%") == []
    assert len(_names(session, "  ")) == 2


def test_search_filters_by_ownership_and_tags(session: Any) -> None:
    EnterpriseFactory(name="甲有限公司", ownership=Ownership.CENTRAL_SOE, is_global500=True)
    EnterpriseFactory(name="乙有限公司", ownership=Ownership.CENTRAL_SOE, is_listed=True)
    EnterpriseFactory(name="丙有限公司", ownership=Ownership.PRIVATE, is_global500=True)

    central = EnterpriseFilters(ownership=Ownership.CENTRAL_SOE)
    assert sorted(_names(session, None, central)) == ["乙有限公司", "甲有限公司"]
    global500 = EnterpriseFilters(tags=frozenset({"is_global500", "bogus"}))
    assert sorted(_names(session, None, global500)) == ["丙有限公司", "甲有限公司"]
    both = EnterpriseFilters(ownership=Ownership.CENTRAL_SOE, tags=frozenset({"is_listed"}))
    assert _names(session, None, both) == ["乙有限公司"]


# --- contact people ---------------------------------------------------------------------------


def test_contact_people_add_update_delete(session: Any, world: Any) -> None:
    enterprise = EnterpriseFactory()

    person = add_contact_person(
        session, world.officer, enterprise, name=" 王经理 ", title="投资总监", phone="", email=None
    )
    assert person.id is not None and person.name == "王经理" and person.phone is None

    update_contact_person(
        session, world.manager, person, name="王总", title="副总裁", note="关键人"
    )
    assert (person.name, person.title, person.note) == ("王总", "副总裁", "关键人")

    delete_contact_person(session, world.admin, person)
    assert session.get(EnterpriseContact, person.id) is None
    assert enterprise.people == []


def test_contact_person_needs_a_name(session: Any, world: Any) -> None:
    person = EnterpriseContactFactory()
    with pytest.raises(EnterpriseError) as info:
        update_contact_person(session, world.officer, person, name="")
    assert info.value.field == "name"
    with pytest.raises(EnterpriseError) as info:
        add_contact_person(session, world.officer, person.enterprise, name="王", phone="1" * 41)
    assert info.value.field == "phone"


# --- related sections -------------------------------------------------------------------------


@pytest.fixture
def no_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run with an empty registry (the pipeline's provider is put back afterwards)."""
    monkeypatch.setattr(services, "_related_providers", {})


def test_related_registry(session: Any, world: Any, no_providers: None) -> None:
    enterprise = EnterpriseFactory()
    seen = []

    @register_related
    def first(session_: Any, user: Any, enterprise_: Enterprise) -> RelatedSection:
        seen.append((user, enterprise_))
        return RelatedSection("a.html", {"n": 1})

    def as_dict(session_: Any, user: Any, enterprise_: Enterprise) -> dict:
        return {"template": "b.html"}

    def nothing(session_: Any, user: Any, enterprise_: Enterprise) -> None:
        return None

    register_related(as_dict)
    register_related(nothing)
    register_related(first)  # registering again replaces, keeps the place

    sections = related_sections(session, world.leader, enterprise)

    assert sections == [RelatedSection("a.html", {"n": 1}), RelatedSection("b.html", {})]
    assert seen == [(world.leader, enterprise)]
    unregister_related(first)
    assert [s.template for s in related_sections(session, world.leader, enterprise)] == ["b.html"]
