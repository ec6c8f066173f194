"""Admin pages for parks, chains and links: access, uniqueness, code format, order, stale edits."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.parks.models import Chain, ChainLink, Park
from tests.factories import ChainFactory, ChainLinkFactory

STALE = "该记录已被他人修改，请刷新页面后再提交（您填写的内容已保留在表单中）。"
CODE_FORMAT = "代码只能包含字母、数字、下划线和连字符，且以字母开头。"
PAGES = [
    "/admin/parks",
    "/admin/parks/new",
    "/admin/parks/{park}",
    "/admin/chains",
    "/admin/chains/new",
    "/admin/chains/{chain}",
    "/admin/chains/{chain}/links/new",
    "/admin/chains/{chain}/links/{link}",
]


def _count(session: Any, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _url(template: str, world: Any) -> str:
    return template.format(park=world.park_a.id, chain=world.chain.id, link=world.link.id)


def _park_form(park: Park | None = None, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": "marine",
        "name": "海洋产业园",
        "description": "",
        "sort_order": "5",
        "active": "y",
    }
    if park is not None:
        data = {
            "code": park.code,
            "name": park.name,
            "description": park.description or "",
            "sort_order": str(park.sort_order),
            "active": "y" if park.active else "",
            "version": str(park.version),
        }
    data.update(overrides)
    return {k: v for k, v in data.items() if v not in (None, "")}


def _chain_form(chain: Chain | None = None, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"code": "panel", "name": "屏", "description": "", "sort_order": "2"}
    if chain is not None:
        data = {
            "code": chain.code,
            "name": chain.name,
            "description": chain.description or "",
            "sort_order": str(chain.sort_order),
            "version": str(chain.version),
        }
    data.update(overrides)
    return {k: v for k, v in data.items() if v not in (None, "")}


def _link_form(link: ChainLink | None = None, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "晶圆制造", "position": "3", "description": ""}
    if link is not None:
        data = {
            "name": link.name,
            "position": str(link.position),
            "description": link.description or "",
            "version": str(link.version),
        }
    data.update(overrides)
    return {k: v for k, v in data.items() if v not in (None, "")}


@pytest.fixture
def admin(login_as: Any, world: Any) -> Any:
    return login_as(world.admin)


# --- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_users_are_sent_to_the_login_page(client: Any, world: Any, url: str) -> None:
    response = client.get(_url(url, world))

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("role", ["officer", "manager", "leader"])
@pytest.mark.parametrize("url", PAGES)
def test_other_roles_get_403(login_as: Any, world: Any, role: str, url: str) -> None:
    client = login_as(getattr(world, role))

    assert client.get(_url(url, world)).status_code == 403


@pytest.mark.parametrize("role", ["officer", "manager", "leader"])
def test_other_roles_cannot_write(login_as: Any, session: Any, world: Any, role: str) -> None:
    client = login_as(getattr(world, role))
    parks, chains, links = _count(session, Park), _count(session, Chain), _count(session, ChainLink)

    assert client.post("/admin/parks/new", data=_park_form()).status_code == 403
    assert client.post("/admin/chains/new", data=_chain_form()).status_code == 403
    url = f"/admin/chains/{world.chain.id}/links/new"
    assert client.post(url, data=_link_form()).status_code == 403
    edit = client.post(f"/admin/parks/{world.park_a.id}", data=_park_form(world.park_a, name="X"))
    assert edit.status_code == 403

    session.expire_all()
    assert (_count(session, Park), _count(session, Chain), _count(session, ChainLink)) == (
        parks,
        chains,
        links,
    )
    assert world.park_a.name == "集成电路产业园"


@pytest.mark.parametrize("url", PAGES)
def test_admin_reads_every_page(admin: Any, world: Any, url: str) -> None:
    assert admin.get(_url(url, world)).status_code == 200


@pytest.mark.parametrize(
    "url",
    ["/admin/parks/999999", "/admin/chains/999999", "/admin/chains/999999/links/new"],
)
def test_missing_records_are_404(admin: Any, url: str) -> None:
    assert admin.get(url).status_code == 404


def test_a_link_is_only_reached_through_its_own_chain(admin: Any, world: Any) -> None:
    other = ChainFactory(code="PANEL", name="屏")

    url = f"/admin/chains/{other.id}/links/{world.link.id}"

    assert admin.get(url).status_code == 404
    assert admin.post(url, data=_link_form(world.link, name="X")).status_code == 404


# --- parks ------------------------------------------------------------------------------------


def test_park_list_shows_the_parks_in_order(admin: Any, world: Any) -> None:
    world.park_b.active = False

    page = admin.get("/admin/parks").get_data(as_text=True)

    assert page.index("集成电路产业园") < page.index("新型显示产业园")
    assert "IC" in page and "DISPLAY" in page
    assert "已停用" in page
    assert f"/admin/parks/{world.park_a.id}" in page
    assert "/admin/parks/new" in page


def test_admin_creates_a_park(admin: Any, session: Any, world: Any) -> None:
    response = admin.post("/admin/parks/new", data=_park_form(description="海洋经济"))

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/parks"
    park = session.scalar(select(Park).where(Park.code == "MARINE"))
    assert park.name == "海洋产业园"
    assert park.description == "海洋经济"
    assert park.sort_order == 5
    assert park.active is True
    assert "已保存。" in admin.get("/admin/parks").get_data(as_text=True)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"code": "IC"}, "园区代码“IC”已存在。"),
        ({"code": "ic"}, "园区代码“IC”已存在。"),
        ({"name": "集成电路产业园"}, "园区名称“集成电路产业园”已存在。"),
        ({"name": " 集成电路产业园 "}, "园区名称“集成电路产业园”已存在。"),
        ({"code": None}, "请填写代码。"),
        ({"name": None}, "请填写名称。"),
    ],
)
def test_park_refusals_are_explained_in_chinese(
    admin: Any, session: Any, world: Any, overrides: dict[str, Any], message: str
) -> None:
    before = _count(session, Park)

    response = admin.post("/admin/parks/new", data=_park_form(**overrides))

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _count(session, Park) == before


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("1IC", CODE_FORMAT),
        ("_IC", CODE_FORMAT),
        ("I C", CODE_FORMAT),
        ("IC!", CODE_FORMAT),
        ("集成电路", CODE_FORMAT),
        ("IC/2", CODE_FORMAT),
        ("A" * 21, "字段长度不能超过 20 个字符。"),
    ],
)
def test_park_code_format_is_checked(
    admin: Any, session: Any, world: Any, code: str, message: str
) -> None:
    before = _count(session, Park)

    response = admin.post("/admin/parks/new", data=_park_form(code=code))

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _count(session, Park) == before


@pytest.mark.parametrize("code", ["GENE", "Smart_Home", "free-trade-2"])
def test_park_code_accepts_letters_digits_underscores_and_hyphens(
    admin: Any, session: Any, world: Any, code: str
) -> None:
    response = admin.post("/admin/parks/new", data=_park_form(code=code, name=f"园区{code}"))

    assert response.status_code == 302
    assert session.scalar(select(Park).where(Park.code == code.upper())) is not None


def test_admin_edits_a_park(admin: Any, session: Any, world: Any) -> None:
    park = world.park_a
    version = park.version

    response = admin.post(
        f"/admin/parks/{park.id}",
        data=_park_form(park, name="集成电路产业园（一期）", active=None, sort_order="9"),
    )

    assert response.status_code == 302
    session.expire_all()
    assert park.code == "IC"
    assert park.name == "集成电路产业园（一期）"
    assert park.active is False
    assert park.sort_order == 9
    assert park.version == version + 1


def test_editing_a_park_may_keep_its_own_code_and_name(
    admin: Any, session: Any, world: Any
) -> None:
    response = admin.post(
        f"/admin/parks/{world.park_a.id}",
        data=_park_form(world.park_a, code="ic", description="芯"),
    )

    assert response.status_code == 302
    session.expire_all()
    assert world.park_a.description == "芯"


def test_editing_a_park_cannot_take_another_parks_code(
    admin: Any, session: Any, world: Any
) -> None:
    response = admin.post(
        f"/admin/parks/{world.park_a.id}", data=_park_form(world.park_a, code="display")
    )

    assert response.status_code == 200
    assert "园区代码“DISPLAY”已存在。" in response.get_data(as_text=True)
    session.expire_all()
    assert world.park_a.code == "IC"


def test_park_edit_with_a_stale_version_is_refused(admin: Any, session: Any, world: Any) -> None:
    park = world.park_a
    loaded = _park_form(park, name="旧页面上的名称")
    park.description = "别人刚改的"
    session.commit()  # someone else saved (committed) first

    response = admin.post(f"/admin/parks/{park.id}", data=loaded)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert STALE in page
    assert 'value="旧页面上的名称"' in page
    session.expire_all()
    assert park.name == "集成电路产业园"
    assert park.description == "别人刚改的"


def test_park_edit_without_a_version_is_refused(admin: Any, session: Any, world: Any) -> None:
    data = _park_form(world.park_a, name="无版本")
    data.pop("version")

    response = admin.post(f"/admin/parks/{world.park_a.id}", data=data)

    assert STALE in response.get_data(as_text=True)
    session.expire_all()
    assert world.park_a.name == "集成电路产业园"


def test_park_form_carries_the_version(admin: Any, world: Any) -> None:
    page = admin.get(f"/admin/parks/{world.park_a.id}").get_data(as_text=True)

    assert f'name="version" type="hidden" value="{world.park_a.version}"' in page
    assert 'value="集成电路产业园"' in page


# --- chains -----------------------------------------------------------------------------------


def test_admin_creates_a_chain(admin: Any, session: Any, world: Any) -> None:
    response = admin.post("/admin/chains/new", data=_chain_form())

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/chains"
    chain = session.scalar(select(Chain).where(Chain.code == "PANEL"))
    assert chain.name == "屏"
    assert chain.sort_order == 2
    assert chain.links == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"code": "chip"}, "产业链代码“CHIP”已存在。"),
        ({"name": "芯"}, "产业链名称“芯”已存在。"),
        ({"code": "9CHIP"}, CODE_FORMAT),
        ({"code": "芯屏"}, CODE_FORMAT),
        ({"name": None}, "请填写名称。"),
    ],
)
def test_chain_refusals_are_explained_in_chinese(
    admin: Any, session: Any, world: Any, overrides: dict[str, Any], message: str
) -> None:
    before = _count(session, Chain)

    response = admin.post("/admin/chains/new", data=_chain_form(**overrides))

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _count(session, Chain) == before


def test_admin_edits_a_chain(admin: Any, session: Any, world: Any) -> None:
    chain = world.chain

    response = admin.post(
        f"/admin/chains/{chain.id}", data=_chain_form(chain, name="芯（集成电路）")
    )

    assert response.status_code == 302
    session.expire_all()
    assert chain.name == "芯（集成电路）"
    assert [link.name for link in chain.links] == ["芯片设计"]


def test_chain_edit_with_a_stale_version_is_refused(admin: Any, session: Any, world: Any) -> None:
    chain = world.chain
    loaded = _chain_form(chain, name="旧页面")
    chain.description = "别人刚改的"
    session.flush()

    response = admin.post(f"/admin/chains/{chain.id}", data=loaded)

    assert STALE in response.get_data(as_text=True)
    session.expire_all()
    assert chain.name == "芯"


# --- links ------------------------------------------------------------------------------------


def test_admin_adds_a_link(admin: Any, session: Any, world: Any) -> None:
    response = admin.post(f"/admin/chains/{world.chain.id}/links/new", data=_link_form())

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/chains"
    session.expire_all()
    assert [(link.name, link.position) for link in world.chain.links] == [
        ("芯片设计", 2),
        ("晶圆制造", 3),
    ]


def test_a_link_name_is_unique_within_its_chain(admin: Any, session: Any, world: Any) -> None:
    before = _count(session, ChainLink)

    response = admin.post(
        f"/admin/chains/{world.chain.id}/links/new", data=_link_form(name="芯片设计")
    )

    assert response.status_code == 200
    assert "该产业链中已有环节“芯片设计”。" in response.get_data(as_text=True)
    assert _count(session, ChainLink) == before


def test_the_same_link_name_may_appear_in_another_chain(
    admin: Any, session: Any, world: Any
) -> None:
    panel = ChainFactory(code="PANEL", name="屏")

    response = admin.post(f"/admin/chains/{panel.id}/links/new", data=_link_form(name="芯片设计"))

    assert response.status_code == 302
    session.expire_all()
    assert [link.name for link in panel.links] == ["芯片设计"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": None}, "请填写名称。"),
        ({"position": "-1"}, "数值大小必须介于 0 到 999 之间。"),
        ({"position": "x"}, "不是有效的整数。"),
    ],
)
def test_link_form_checks_its_fields(
    admin: Any, session: Any, world: Any, overrides: dict[str, Any], message: str
) -> None:
    before = _count(session, ChainLink)

    response = admin.post(f"/admin/chains/{world.chain.id}/links/new", data=_link_form(**overrides))

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _count(session, ChainLink) == before


def test_admin_edits_a_link(admin: Any, session: Any, world: Any) -> None:
    link = world.link

    response = admin.post(
        f"/admin/chains/{world.chain.id}/links/{link.id}",
        data=_link_form(link, name="芯片设计（IC设计）", position="1", description="Fabless"),
    )

    assert response.status_code == 302
    session.expire_all()
    assert (link.name, link.position, link.description) == ("芯片设计（IC设计）", 1, "Fabless")


def test_editing_a_link_may_keep_its_name(admin: Any, session: Any, world: Any) -> None:
    response = admin.post(
        f"/admin/chains/{world.chain.id}/links/{world.link.id}",
        data=_link_form(world.link, position="7"),
    )

    assert response.status_code == 302
    session.expire_all()
    assert world.link.position == 7


def test_link_edit_with_a_stale_version_is_refused(admin: Any, session: Any, world: Any) -> None:
    link = world.link
    loaded = _link_form(link, name="旧页面")
    link.position = 8
    session.commit()  # someone else saved (committed) first

    response = admin.post(f"/admin/chains/{world.chain.id}/links/{link.id}", data=loaded)

    assert STALE in response.get_data(as_text=True)
    session.expire_all()
    assert (link.name, link.position) == ("芯片设计", 8)


# --- the chain list ---------------------------------------------------------------------------


def test_chain_list_shows_links_upstream_to_downstream(admin: Any, world: Any) -> None:
    for name, position in [("终端应用", 9), ("EDA/IP", 0), ("封装测试", 5), ("晶圆制造", 3)]:
        ChainLinkFactory(chain=world.chain, name=name, position=position)

    page = admin.get("/admin/chains").get_data(as_text=True)

    order = ["EDA/IP", "芯片设计", "晶圆制造", "封装测试", "终端应用"]
    positions = [page.index(name) for name in order]
    assert positions == sorted(positions)
    assert f"/admin/chains/{world.chain.id}/links/new" in page
    assert f"/admin/chains/{world.chain.id}/links/{world.link.id}" in page
    assert f"/admin/chains/{world.chain.id}" in page


def test_chain_list_shows_chains_in_order_with_empty_ones(admin: Any, world: Any) -> None:
    ChainFactory(code="PANEL", name="屏产业链", sort_order=5)
    world.chain.sort_order = 1

    page = admin.get("/admin/chains").get_data(as_text=True)

    assert page.index("芯片设计") < page.index("屏产业链")
    assert "还没有环节。" in page


def test_chain_list_queries_do_not_grow_with_the_chains(
    admin: Any, world: Any, count_queries: Any
) -> None:
    admin.get("/admin/chains")
    with count_queries() as few:
        admin.get("/admin/chains")
    for n in range(4):
        chain = ChainFactory()
        for m in range(3):
            ChainLinkFactory(chain=chain, name=f"环节{n}-{m}")
    with count_queries() as many:
        page = admin.get("/admin/chains").get_data(as_text=True)

    assert "环节3-2" in page
    assert many.count == few.count
