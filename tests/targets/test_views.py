"""The admin pages for annual targets: list with progress, add, edit, copy, delete."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from app.targets.models import AnnualTarget, Metric

STALE = "该记录已被他人修改"


def _form(**overrides: Any) -> dict[str, Any]:
    data = {
        "year": "2026",
        "metric": "signed",
        "tier": "big",
        "park_id": "",
        "chain_id": "",
        "goal": "16",
        "note": "双过半",
    }
    data.update(overrides)
    return data


def test_add_edit_and_list(session: Any, world: Any, login_as: Any) -> None:
    client = login_as(world.admin)
    assert client.get("/admin/targets/new?year=2027").status_code == 200
    response = client.post("/admin/targets/new", data=_form())
    assert response.status_code == 302
    target = session.query(AnnualTarget).one()
    assert (target.year, target.metric, target.tier, target.goal_count) == (
        2026,
        Metric.SIGNED,
        "big",
        16,
    )
    page = client.get("/admin/targets/?year=2026").get_data(as_text=True)
    assert "2026年 50亿元+ 签约项目数" in page and "双过半" in page
    edit = client.get(f"/admin/targets/{target.id}").get_data(as_text=True)
    assert 'value="16"' in edit
    response = client.post(
        f"/admin/targets/{target.id}",
        data=_form(
            metric="signed_investment",
            tier="",
            park_id=str(world.park_a.id),
            goal="1500亿",
            version=str(target.version),
        ),
    )
    assert response.status_code == 302
    session.refresh(target)
    assert target.goal_amount == Decimal(1500) and target.goal_count is None
    assert target.park_id == world.park_a.id


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"goal": ""}, "请填写目标值。"),
        ({"goal": "2.5"}, "项目数目标必须是整数。"),
        ({"goal": "abc"}, "项目数目标必须是整数。"),
        ({"goal": "0"}, "目标值必须大于0。"),
        ({"metric": "signed_investment", "goal": "很多"}, "无法识别"),
        ({"year": "1990"}, "年份须在2000至2100之间。"),
        ({"metric": "nothing"}, "不是有效的选择"),
    ],
)
def test_bad_input_is_explained_and_nothing_saved(
    session: Any, world: Any, login_as: Any, overrides: dict, message: str
) -> None:
    response = login_as(world.admin).post("/admin/targets/new", data=_form(**overrides))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page
    assert 'value="' in page  # the form comes back filled in
    assert session.query(AnnualTarget).count() == 0


def test_duplicate_scope_is_refused(session: Any, world: Any, login_as: Any) -> None:
    client = login_as(world.admin)
    client.post("/admin/targets/new", data=_form())
    response = client.post("/admin/targets/new", data=_form(goal="20"))
    assert "该年度已有相同指标和范围的目标" in response.get_data(as_text=True)
    assert session.query(AnnualTarget).count() == 1


def test_stale_edit_keeps_input(session: Any, world: Any, login_as: Any) -> None:
    target = AnnualTarget(year=2026, metric=Metric.SIGNED, goal_count=10)
    session.add(target)
    session.commit()
    version = target.version
    target.goal_count = 12  # someone else saves first
    session.commit()
    response = login_as(world.admin).post(
        f"/admin/targets/{target.id}", data=_form(tier="", goal="30", version=str(version))
    )
    page = response.get_data(as_text=True)
    assert STALE in page and 'value="30"' in page
    session.refresh(target)
    assert target.goal_count == 12


def test_copy_and_delete(session: Any, world: Any, login_as: Any) -> None:
    client = login_as(world.admin)
    client.post("/admin/targets/new", data=_form(year="2025"))
    response = client.post("/admin/targets/copy", data={"source": "2025", "year": "2026"})
    assert response.status_code == 302
    assert session.query(AnnualTarget).filter_by(year=2026).count() == 1
    again = client.post(
        "/admin/targets/copy", data={"source": "2025", "year": "2026"}, follow_redirects=True
    )
    assert "2026年已有目标，不能覆盖。" in again.get_data(as_text=True)
    target = session.query(AnnualTarget).filter_by(year=2026).one()
    stale = client.post(
        f"/admin/targets/{target.id}/delete", data={"version": "999"}, follow_redirects=True
    )
    assert STALE in stale.get_data(as_text=True)
    assert session.query(AnnualTarget).filter_by(year=2026).count() == 1
    client.post(f"/admin/targets/{target.id}/delete", data={"version": str(target.version)})
    assert session.query(AnnualTarget).filter_by(year=2026).count() == 0
