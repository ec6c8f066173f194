"""Enterprise pages: access per role, create with checks and the duplicate warning, edit with
optimistic locking, contact people, related sections and a list that does not grow in queries."""

from __future__ import annotations

import re
from typing import Any

import pytest
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import func, select

from app.core.timeutil import format_date
from app.enterprises import services
from app.enterprises.models import Enterprise, EnterpriseContact, Ownership
from app.enterprises.services import RelatedSection, register_related
from tests.factories import EnterpriseContactFactory, EnterpriseFactory
from tests.factories import credit_code as numbered_code

BOE = "京东方科技集团股份有限公司"


def credit_code(n: int) -> str:
    """Return a valid code outside the range the factories use."""
    return numbered_code(9_000_000 + n)


BOE_QINGDAO = "京东方科技(青岛)有限公司"
ROLES = ["officer", "manager", "leader", "admin"]
EDITORS = ["officer", "manager", "admin"]


def _count(session: Any) -> int:
    return session.scalar(select(func.count()).select_from(Enterprise))


def _form(**overrides: Any) -> dict[str, Any]:
    data = {"name": "青岛测试新材料有限公司", "credit_code": "", "ownership": "private"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_pages_require_login(client: Any, session: Any) -> None:
    enterprise = EnterpriseFactory()
    for url in ("/enterprises/", f"/enterprises/{enterprise.id}", "/enterprises/new"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_list_and_detail(
    login_as: Any, world: Any, session: Any, role: str
) -> None:
    enterprise = EnterpriseFactory(
        name=BOE, credit_code=credit_code(90), ownership=Ownership.SOE, is_listed=True
    )
    EnterpriseContactFactory(enterprise=enterprise, name="陈总", phone="0532 8888 0000")
    client = login_as(getattr(world, role))

    listing = client.get("/enterprises/")
    detail = client.get(f"/enterprises/{enterprise.id}")

    assert listing.status_code == 200
    assert BOE in listing.get_data(as_text=True)
    assert detail.status_code == 200
    page = detail.get_data(as_text=True)
    assert credit_code(90) in page
    assert "上市公司" in page and "国企" in page and "陈总" in page
    assert re.search(r"\d{4}-\d{2}-\d{2}", page)
    assert format_date(enterprise.created_at) in page
    can_edit = role in EDITORS
    assert (f"/enterprises/{enterprise.id}/edit" in page) is can_edit
    assert ("添加联系人" in page) is can_edit


def test_leader_may_not_change_anything(login_as: Any, world: Any, session: Any) -> None:
    enterprise = EnterpriseFactory()
    person = EnterpriseContactFactory(enterprise=enterprise)
    client = login_as(world.leader)
    before = _count(session)

    assert client.get("/enterprises/new").status_code == 403
    assert client.post("/enterprises/new", data=_form()).status_code == 403
    assert client.get(f"/enterprises/{enterprise.id}/edit").status_code == 403
    edit = _form(name="改名有限公司", version=str(enterprise.version))
    assert client.post(f"/enterprises/{enterprise.id}/edit", data=edit).status_code == 403
    people = f"/enterprises/{enterprise.id}/people"
    assert client.post(f"{people}/new", data={"name": "王"}).status_code == 403
    assert client.post(f"{people}/{person.id}/edit", data={"name": "王"}).status_code == 403
    assert client.post(f"{people}/{person.id}/delete").status_code == 403
    assert _count(session) == before
    assert session.get(EnterpriseContact, person.id) is not None


def test_missing_enterprise_is_404(login_as: Any, world: Any) -> None:
    client = login_as(world.officer)
    assert client.get("/enterprises/999999").status_code == 404
    assert client.get("/enterprises/999999/edit").status_code == 404


@pytest.mark.parametrize("role", EDITORS)
def test_create_enterprise(login_as: Any, world: Any, session: Any, role: str) -> None:
    client = login_as(getattr(world, role))
    code = credit_code(91)

    assert client.get("/enterprises/new").status_code == 200
    response = client.post(
        "/enterprises/new",
        data=_form(credit_code=code.lower(), is_china500="y", industry=" 新材料 "),
    )

    assert response.status_code == 302
    enterprise = session.scalar(select(Enterprise).where(Enterprise.credit_code == code))
    assert response.headers["Location"].endswith(f"/enterprises/{enterprise.id}")
    assert enterprise.name == "青岛测试新材料有限公司"
    assert enterprise.name_key == "测试新材料"
    assert enterprise.is_china500 and not enterprise.is_global500
    assert enterprise.industry == "新材料"


def test_create_with_bad_credit_code_shows_message_and_writes_nothing(
    login_as: Any, world: Any, session: Any
) -> None:
    client = login_as(world.officer)
    good = credit_code(92)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    before = _count(session)

    response = client.post("/enterprises/new", data=_form(credit_code=bad))

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "校验位错误" in page
    assert "is-invalid" in page
    assert "青岛测试新材料有限公司" in page  # the input is kept
    assert _count(session) == before

    short = client.post("/enterprises/new", data=_form(credit_code="9137"))
    assert "统一社会信用代码应为18位" in short.get_data(as_text=True)
    assert _count(session) == before


def test_create_with_registered_code_is_a_hard_error(
    login_as: Any, world: Any, session: Any
) -> None:
    EnterpriseFactory(name=BOE, credit_code=credit_code(93))
    client = login_as(world.officer)
    before = _count(session)

    response = client.post(
        "/enterprises/new",
        data=_form(name=BOE_QINGDAO, credit_code=credit_code(93), confirm_duplicate="y"),
    )

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "已登记为“京东方科技集团股份有限公司”" in page
    assert _count(session) == before


def test_duplicate_warning_then_confirmed_create(login_as: Any, world: Any, session: Any) -> None:
    boe = EnterpriseFactory(name=BOE, credit_code=credit_code(94))
    client = login_as(world.officer)
    before = _count(session)

    warned = client.post("/enterprises/new", data=_form(name=BOE_QINGDAO))

    assert warned.status_code == 200
    page = warned.get_data(as_text=True)
    assert "系统中已有名称相近的企业" in page
    assert f'href="/enterprises/{boe.id}"' in page
    assert "确认不是同一家企业，仍然创建" in page
    assert BOE_QINGDAO in page
    assert _count(session) == before

    confirmed = client.post("/enterprises/new", data=_form(name=BOE_QINGDAO, confirm_duplicate="y"))

    assert confirmed.status_code == 302
    assert _count(session) == before + 1
    assert session.scalar(select(Enterprise).where(Enterprise.name == BOE_QINGDAO)) is not None


def test_edit_enterprise(login_as: Any, world: Any, session: Any) -> None:
    enterprise = EnterpriseFactory(name="青岛啤酒股份有限公司", credit_code=None)
    client = login_as(world.manager)

    form = client.get(f"/enterprises/{enterprise.id}/edit")
    assert form.status_code == 200
    assert re.search(rf'name="version" type="hidden" value="{enterprise.version}"', form.text)

    response = client.post(
        f"/enterprises/{enterprise.id}/edit",
        data=_form(
            name="青岛啤酒(集团)有限公司",
            credit_code=credit_code(95),
            ownership="soe",
            version=str(enterprise.version),
        ),
    )

    assert response.status_code == 302
    session.expire_all()
    saved = session.get(Enterprise, enterprise.id)
    assert saved.name == "青岛啤酒(集团)有限公司"
    assert saved.name_key == "青岛啤酒"
    assert saved.credit_code == credit_code(95)
    assert saved.ownership is Ownership.SOE
    assert saved.version == 2


def test_edit_with_stale_version_is_refused_and_keeps_input(
    login_as: Any, world: Any, session: Any
) -> None:
    enterprise = EnterpriseFactory(name="青岛啤酒股份有限公司", industry="食品")
    client = login_as(world.officer)
    stale = str(enterprise.version)
    # Someone else saves first.
    enterprise.industry = "啤酒酿造"
    session.flush()

    response = client.post(
        f"/enterprises/{enterprise.id}/edit",
        data=_form(name="我改的名字有限公司", industry="饮料", version=stale),
    )

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "该记录已被他人修改" in page
    assert "我改的名字有限公司" in page  # the user's input is kept
    assert "啤酒酿造" in page  # and the saved value is shown next to it
    session.expire_all()
    saved = session.get(Enterprise, enterprise.id)
    assert saved.name == "青岛啤酒股份有限公司"
    assert saved.industry == "啤酒酿造"

    # Having seen the other change, the user may save deliberately with the version shown.
    again = client.post(
        f"/enterprises/{enterprise.id}/edit",
        data=_form(name="我改的名字有限公司", industry="饮料", version=str(saved.version)),
    )
    assert again.status_code == 302


def test_edit_to_a_registered_code_is_refused(login_as: Any, world: Any, session: Any) -> None:
    EnterpriseFactory(name=BOE, credit_code=credit_code(96))
    enterprise = EnterpriseFactory(name="青岛啤酒股份有限公司", credit_code=credit_code(97))
    client = login_as(world.officer)

    response = client.post(
        f"/enterprises/{enterprise.id}/edit",
        data=_form(name="青岛啤酒股份有限公司", credit_code=credit_code(96), version="1"),
    )

    assert response.status_code == 200
    assert "已登记为" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Enterprise, enterprise.id).credit_code == credit_code(97)


def test_contact_people_pages(login_as: Any, world: Any, session: Any) -> None:
    enterprise = EnterpriseFactory()
    client = login_as(world.officer)
    base = f"/enterprises/{enterprise.id}/people"

    assert client.get(f"{base}/new").status_code == 200
    invalid = client.post(f"{base}/new", data={"name": "", "email": "not-an-email"})
    assert invalid.status_code == 200
    assert "请填写姓名。" in invalid.get_data(as_text=True)
    assert "邮箱格式不正确。" in invalid.get_data(as_text=True)

    added = client.post(f"{base}/new", data={"name": " 陈总 ", "title": "董事长"})
    assert added.status_code == 302
    person = session.scalar(
        select(EnterpriseContact).where(EnterpriseContact.enterprise_id == enterprise.id)
    )
    assert (person.name, person.title) == ("陈总", "董事长")

    assert client.get(f"{base}/{person.id}/edit").status_code == 200
    edited = client.post(
        f"{base}/{person.id}/edit",
        data={"name": "陈总", "phone": "13800000000", "version": str(person.version)},
    )
    assert edited.status_code == 302
    session.expire_all()
    assert session.get(EnterpriseContact, person.id).phone == "13800000000"

    stale = client.post(f"{base}/{person.id}/edit", data={"name": "X", "version": "1"})
    assert "该记录已被他人修改" in stale.get_data(as_text=True)

    deleted = client.post(f"{base}/{person.id}/delete")
    assert deleted.status_code == 302
    session.expire_all()
    assert session.get(EnterpriseContact, person.id) is None


def test_person_of_another_enterprise_is_404(login_as: Any, world: Any, session: Any) -> None:
    enterprise = EnterpriseFactory()
    stranger = EnterpriseContactFactory()
    client = login_as(world.officer)

    base = f"/enterprises/{enterprise.id}/people/{stranger.id}"
    assert client.get(f"{base}/edit").status_code == 404
    assert client.post(f"{base}/delete").status_code == 404
    assert session.get(EnterpriseContact, stranger.id) is not None


def test_list_search_and_filters(login_as: Any, world: Any, session: Any) -> None:
    EnterpriseFactory(name=BOE, ownership=Ownership.SOE, is_listed=True)
    EnterpriseFactory(name="青岛啤酒股份有限公司", ownership=Ownership.SOE)
    EnterpriseFactory(name="三星电子株式会社", ownership=Ownership.FOREIGN, is_global500=True)
    client = login_as(world.leader)

    def names(query: str) -> list[str]:
        page = client.get(f"/enterprises/?{query}").get_data(as_text=True)
        return [n for n in (BOE, "青岛啤酒股份有限公司", "三星电子株式会社") if n in page]

    assert names("q=京东方科技（青岛）") == [BOE]
    assert names("ownership=soe") == [BOE, "青岛啤酒股份有限公司"]
    assert names("ownership=soe&tag=is_listed") == [BOE]
    assert names("tag=is_global500") == ["三星电子株式会社"]
    assert len(names("ownership=bogus&tag=bogus")) == 3
    assert "没有符合条件的企业" in client.get("/enterprises/?q=不存在的企业").get_data(as_text=True)


def test_list_runs_a_fixed_number_of_queries(
    login_as: Any, world: Any, session: Any, count_queries: Any
) -> None:
    client = login_as(world.officer)

    def queries_for_list() -> int:
        with count_queries() as counter:
            response = client.get("/enterprises/")
        assert response.status_code == 200
        return counter.count

    for _ in range(3):
        enterprise = EnterpriseFactory(is_global500=True)
        EnterpriseContactFactory(enterprise=enterprise)
    with_3 = queries_for_list()
    for _ in range(27):
        enterprise = EnterpriseFactory(is_listed=True)
        EnterpriseContactFactory(enterprise=enterprise)
    with_30 = queries_for_list()

    assert with_3 == with_30


def test_detail_shows_registered_sections(
    app: Any, login_as: Any, world: Any, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "_related_providers", dict(services._related_providers))
    loader = ChoiceLoader(
        [
            DictLoader({"test/_section.html": "<p id='s'>{{ enterprise.name }}/{{ who }}</p>"}),
            app.jinja_loader,
        ]
    )
    monkeypatch.setattr(app.jinja_env, "loader", loader)

    def provider(session_: Any, user: Any, enterprise: Enterprise) -> RelatedSection:
        return RelatedSection("test/_section.html", {"who": user.full_name})

    register_related(provider, key="tests.section")
    enterprise = EnterpriseFactory(name=BOE)
    client = login_as(world.leader)

    page = client.get(f"/enterprises/{enterprise.id}").get_data(as_text=True)

    assert f"<p id='s'>{BOE}/刘局长</p>" in page
