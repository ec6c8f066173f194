"""The cockpit and the chain map: every number agrees with the list it links to, and with the
statistical report; pages run a fixed number of statements; managers see their parks only."""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask_babel import refresh
from werkzeug.datastructures import MultiDict

from app.auth.models import User
from app.core.timeutil import today_local
from app.demo.data import DEMO_PASSWORD
from app.demo.loader import load_demo
from app.demo.results2022 import load_results_2022
from app.ledger.reports import MILESTONES, Period, build_report
from app.parks.models import Chain
from app.pipeline.flags import load_thresholds
from app.pipeline.lifecycle import Stage
from app.pipeline.models import Lead, Project
from app.pipeline.queries import ListFilters, filtered
from app.pipeline.stats import REPORT_TIERS
from app.targets.models import AnnualTarget, Metric
from tests.factories import ChainLinkFactory, LeadFactory
from tests.pipeline.test_query_counts import add_records, measure, refs  # noqa: F401

NUMBER = re.compile(r'<a class="num-link" href="([^"]+)"[^>]*data-count="(\d+)"')
CHART_DATA = re.compile(r'<script type="application/json" id="chart-data-([\w-]+)">(.*?)</script>')


def numbers(page: str) -> list[tuple[str, int]]:
    """Every linked number of a page and every chart point: (list address, number)."""
    found = [(html.unescape(url), int(count)) for url, count in NUMBER.findall(page)]
    for _id, data in CHART_DATA.findall(page):
        spec = json.loads(html.unescape(data))
        for series in spec["series"]:
            found += [(p["url"], p["value"]) for p in series["data"] if "url" in p]
    return found


def list_count(session: Any, user: User, url: str) -> int:
    """The number of rows the list at *url* shows to *user* (as the list page computes it)."""
    parts = urlsplit(url)
    model = {"/leads": Lead, "/projects": Project}[parts.path]
    args = MultiDict([(k, v) for k, values in parse_qs(parts.query).items() for v in values])
    stmt = filtered(user, model, ListFilters.from_args(args), load_thresholds(session))
    return len(session.scalars(stmt).all())


def login_demo(client: Any, user: User) -> Any:
    """Log a demo account in with the demo password."""
    with client.session_transaction() as sess:
        sess.clear()
    response = client.post("/login", data={"username": user.username, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    return client


@pytest.fixture
def demo(session: Any) -> SimpleNamespace:
    load_demo(session)
    session.flush()
    users = {u.username: u for u in session.query(User)}
    return SimpleNamespace(**users)


@pytest.mark.parametrize("who", ["leader", "manager"])
def test_every_number_is_the_length_of_its_list(
    session: Any, demo: Any, client: Any, who: str
) -> None:
    user = getattr(demo, who)
    session.add(AnnualTarget(year=today_local().year, metric=Metric.SIGNED, goal_count=30))
    session.commit()
    client = login_demo(client, user)
    page = client.get("/cockpit/").get_data(as_text=True)
    found = numbers(page)
    assert len(found) > 200
    assert any(count > 0 for _url, count in found)
    for url, count in set(found):
        assert list_count(session, user, url) == count, url
    # The same through the list page itself, for a few numbers.
    for url, count in sorted(set(found), key=lambda f: -f[1])[:3]:
        listed = client.get(url).get_data(as_text=True)
        assert f"共 {count} 条" in listed, url


def test_cockpit_agrees_with_the_report(session: Any, demo: Any, client: Any) -> None:
    year = today_local().year
    page = login_demo(client, demo.leader).get(f"/cockpit/?year={year}").get_data(as_text=True)
    report = build_report(session, demo.leader, Period.parse(str(year)))
    by_figure = dict(re.findall(r'data-figure="([\w-]+)">\s*<a[^>]*data-count="(\d+)"', page))
    for key, event, _label in MILESTONES:
        for tier in REPORT_TIERS:
            row = report.tier_row(tier)
            assert int(by_figure[f"{event.value}-{tier}"]) == row.counts[key], (key, tier)
    signed_total = sum(m.count for m in report.months)
    assert int(by_figure["signed"]) == signed_total


def test_chain_map_marks_gaps(session: Any, demo: Any, client: Any) -> None:
    chip = session.query(Chain).filter_by(code="CHIP").one()
    empty = ChainLinkFactory(chain=chip, name="光刻胶", position=99)
    candidate = LeadFactory(
        chain_link=empty, park=demo.manager.parks[0], owner=demo.officer, title="光刻胶项目洽谈"
    )
    session.commit()
    client = login_demo(client, demo.leader)
    page = client.get(f"/cockpit/chains?chain={chip.id}").get_data(as_text=True)
    assert f'data-link="{empty.id}"' in page
    gap_card = page[page.index(f'data-link="{empty.id}"') :]
    assert " data-gap " in gap_card.split(">", 1)[0]
    assert f'data-gap-row="{empty.id}"' in page
    assert "光刻胶项目洽谈" in page and f"/leads/{candidate.id}" in page
    for url, count in set(numbers(page)):
        assert list_count(session, demo.leader, url) == count, url
    # Links keep their order, upstream first; the new link is last.
    positions = [int(m) for m in re.findall(r'data-link="(\d+)"', page)]
    assert positions[-1] == empty.id and len(positions) == len(chip.links)


def test_results_2022_show_the_published_figures(session: Any, demo: Any, client: Any) -> None:
    load_results_2022(session)
    session.commit()
    client = login_demo(client, demo.leader)
    page = client.get("/cockpit/?year=2022").get_data(as_text=True)
    figures = dict(re.findall(r'data-figure="([\w-]+)">\s*<a[^>]*data-count="(\d+)"', page))
    assert figures["signed-yi"] == "320"
    assert figures["signed-big"] == "15"
    chains = session.query(Chain).filter(Chain.code.in_(("CHIP", "DISPLAY"))).all()
    query = "&".join(f"chain={c.id}" for c in chains)
    page = client.get(f"/cockpit/?year=2022&{query}").get_data(as_text=True)
    headline = page[page.index('data-figure="signed"') :]
    assert 'data-count="50"' in headline.split("</span>", 1)[0]
    assert "1,500.00 亿元" in headline.split("</div>", 2)[1]
    # Each linked number's tooltip gives its count and sum, in the reader's language.
    assert 'title="50 个，合计 1,500.00 亿元" data-count="50"' in headline
    client.post("/language/en")
    refresh()  # the suite's requests share one application context, where the locale is kept
    page = client.get(f"/cockpit/?year=2022&{query}").get_data(as_text=True)
    assert 'title="Count: 50; total: 1,500.00 × 100M CNY" data-count="50"' in page


# --- scope and access ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("year=abc", "年份应为四位数字"),
        ("year=1999", "年份应在2000至2100之间"),
        ("from=2026-05-01&to=2026-01-01", "开始日期不能晚于结束日期"),
        ("from=2026-13-01", "日期格式应为"),
        ("from=2015-01-01&to=2026-01-01", "统计区间不能超过5年"),
    ],
)
def test_bad_scope_says_why(world: Any, login_as: Any, query: str, message: str) -> None:
    response = login_as(world.leader).get(f"/cockpit/?{query}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page
    assert f"{today_local().year}年" in page  # fell back to this year


def test_date_range(world: Any, login_as: Any) -> None:
    client = login_as(world.leader)
    page = client.get("/cockpit/?from=2026-02-10&to=2026-03-31").get_data(as_text=True)
    assert "2026-02-10 — 2026-03-31" in page
    charts = {key: json.loads(html.unescape(data)) for key, data in CHART_DATA.findall(page)}
    assert charts["monthly-signed"]["categories"] == ["2026-02", "2026-03"]
    # The first month starts where the range starts.
    first = charts["monthly-signed"]["series"][0]["data"][0]["url"]
    assert "from=2026-02-10" in first and "to=2026-02-28" in first


def test_manager_sees_his_parks_only(world: Any, login_as: Any) -> None:
    client = login_as(world.manager)
    page = client.get("/cockpit/").get_data(as_text=True)
    assert world.park_a.name in page and world.park_b.name not in page
    assert client.get(f"/cockpit/?park={world.park_b.id}").status_code == 404
    assert client.get(f"/cockpit/chains?park={world.park_b.id}").status_code == 404
    assert client.get(f"/cockpit/?park={world.park_a.id}").status_code == 200


def test_unknown_chain_is_not_found(world: Any, login_as: Any) -> None:
    assert login_as(world.leader).get("/cockpit/chains?chain=999999").status_code == 404


# --- fixed number of statements ----------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "leader", "admin"])
@pytest.mark.parametrize(
    "url",
    [
        "/cockpit/",
        "/cockpit/?funnel=projects&from=2025-06-01&to=2026-11-30",
        "/cockpit/chains",
    ],
)
def test_query_count_does_not_grow(
    session: Any,
    login_as: Any,
    world: Any,
    count_queries: Any,
    refs: SimpleNamespace,  # noqa: F811
    role: str,
    url: str,
) -> None:
    session.add(AnnualTarget(year=today_local().year, metric=Metric.SIGNED, goal_count=30))
    session.add(
        AnnualTarget(
            year=today_local().year,
            metric=Metric.SIGNED_INVESTMENT,
            park_id=world.park_a.id,
            goal_amount=Decimal(300),
        )
    )
    client = login_as(getattr(world, role))
    add_records(session, refs, 0, 3)
    small = measure(session, client, count_queries, url)
    add_records(session, refs, 3, 30)
    large = measure(session, client, count_queries, url)
    assert small == large
    assert small <= 25


def test_stage_words_in_chart_data(world: Any, login_as: Any) -> None:
    page = login_as(world.admin).get("/cockpit/").get_data(as_text=True)
    charts = {
        chart_id: json.loads(html.unescape(data)) for chart_id, data in CHART_DATA.findall(page)
    }
    assert set(charts) == {
        "funnel",
        "tiers",
        "stalled",
        "medians",
        *(f"monthly-{e.value}" for e in (Stage.SIGNED, Stage.CONSTRUCTION, Stage.PRODUCTION)),
    }
    assert charts["funnel"]["categories"][0] == "线索"
    assert charts["funnel"]["categories"][-1] == "达产"
