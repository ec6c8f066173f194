"""The cockpit in a real browser: targets set by an admin, every chart drawn and its table
view holding the chart's numbers, the chain map showing a gap, a manager signing from his board.

The tests save screenshots of the pages they visit under docs/screenshots/ (linked from the
README), so a newcomer can see the product before installing it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.e2e.conftest import log_in, shoot

YEAR = dt.date.today().year


def switch_user(page: Any, username: str) -> None:
    """Log in as someone else in the same window (forgetting the previous login)."""
    page.context.clear_cookies()
    log_in(page, username)


def _charts_drawn(page: Any) -> list[str]:
    """Wait until every chart has drawn; return their ids."""
    page.wait_for_function(
        "document.querySelectorAll('[data-chart]').length > 0 && "
        "[...document.querySelectorAll('[data-chart]')].every(e => e.dataset.drawn === 'true')"
    )
    return page.eval_on_selector_all("[data-chart]", "els => els.map(e => e.dataset.chart)")


# Counts the canvas pixels that are not blank: a chart that drew nothing has none.
INKED_PIXELS = """
el => {
  const canvas = el.querySelector('canvas');
  if (!canvas) return 0;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) inked++;
  return inked;
}
"""

# Pairs of (chart value, table cell value) for every cell of the chart's table view.
CHART_VS_TABLE = """
id => {
  const el = document.querySelector(`[data-chart="${id}"]`);
  const option = echarts.getInstanceByDom(el).getOption();
  const cells = document.querySelectorAll(`#pane-table-${id} td[data-series][data-index]`);
  const points = option.series.reduce((n, s) => n + s.data.length, 0);
  const pairs = [...cells].map(td => {
    const point = option.series[+td.dataset.series].data[+td.dataset.index];
    const value = point && typeof point === 'object' ? point.value : point;
    const shown = td.dataset.value === '' ? null : Number(td.dataset.value);
    return [value == null ? null : Number(value), shown];
  });
  return {points, pairs};
}
"""


def test_admin_sets_a_target_and_the_leader_reads_the_cockpit(
    desktop: Any, browser: Any, live_server: str
) -> None:
    log_in(desktop, "admin")
    desktop.goto(f"/admin/targets/new?year={YEAR}")
    desktop.select_option("select[name=metric]", "signed")
    desktop.select_option("select[name=tier]", "yi")
    desktop.fill("input[name=goal]", "二十")
    desktop.click("main form button[type=submit]")
    desktop.wait_for_load_state()
    assert "项目数目标必须是整数" in desktop.locator(".invalid-feedback").inner_text()
    desktop.fill("input[name=goal]", "40")
    desktop.fill("input[name=note]", "全年引进亿元以上项目40个")
    desktop.click("main form button[type=submit]")
    desktop.wait_for_load_state()
    assert f"{YEAR}年 1亿元+ 签约项目数" in desktop.content()
    shoot(desktop, "targets.png")

    switch_user(desktop, "leader")
    desktop.goto("/cockpit/")
    charts = _charts_drawn(desktop)
    assert set(charts) >= {"funnel", "tiers", "stalled", "medians", "monthly-signed"}
    for chart in charts:
        inked = desktop.eval_on_selector(f"[data-chart='{chart}']", INKED_PIXELS)
        assert inked > 500, f"chart {chart} drew nothing"
        compared = desktop.evaluate(CHART_VS_TABLE, chart)
        assert compared["pairs"], chart
        assert len(compared["pairs"]) == compared["points"], chart
        for chart_value, table_value in compared["pairs"]:
            assert chart_value == table_value, chart
    targets = desktop.locator("[data-targets]").inner_text()
    assert f"{YEAR}年 1亿元+ 签约项目数" in targets and "全年引进亿元以上项目40个" in targets
    assert not desktop.errors, desktop.errors
    shoot(desktop, "cockpit.png")

    # The table view of a chart shows the same numbers, and each links to its list.
    desktop.click("[data-bs-target='#pane-table-funnel']")
    cell = desktop.locator("#pane-table-funnel td[data-series='0'][data-index='0'] a")
    number = cell.inner_text()
    cell.click()
    desktop.wait_for_load_state()
    assert f"共 {number} 条" in desktop.content()
    assert "已走到“线索”阶段" in desktop.content()


def test_cockpit_on_a_phone(phone: Any) -> None:
    log_in(phone, "leader")
    phone.goto("/cockpit/")
    _charts_drawn(phone)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the cockpit scrolls sideways on a phone ({width}px)"
    shoot(phone, "cockpit-phone.png")


def test_chain_map_shows_a_gap(desktop: Any) -> None:
    # An admin adds a link nobody has signed in yet: it is a gap at once.
    log_in(desktop, "admin")
    desktop.goto("/admin/chains")
    desktop.locator("a[href$='/links/new']").first.click()
    desktop.wait_for_load_state()
    desktop.fill("input[name=name]", "光掩模版")
    desktop.fill("input[name=position]", "99")
    desktop.click("main form button[type=submit]")
    desktop.wait_for_load_state()

    switch_user(desktop, "leader")
    desktop.goto("/cockpit/chains")
    _charts_drawn(desktop)
    gap = desktop.locator("[data-gap]", has_text="光掩模版")
    assert gap.count() == 1
    assert "补链" in gap.inner_text()
    assert desktop.locator("[data-gap-row]", has_text="光掩模版").count() == 1
    # Links run upstream to downstream: the new link (position 99) comes last.
    names = desktop.locator("[data-chain-flow] article h2").all_inner_texts()
    assert "光掩模版" in names[-1]
    shoot(desktop, "chain-map.png")


def test_manager_signs_a_lead_from_his_board(desktop: Any) -> None:
    log_in(desktop, "manager")
    desktop.goto("/board?kind=leads")
    column = desktop.locator("section.board-col[aria-label='洽谈']")
    column.locator("a[href*='/leads/']").first.click()
    desktop.wait_for_load_state()
    title = desktop.locator("h1").first.inner_text()
    desktop.select_option("select[name=stage-target]", "signed")
    desktop.fill("input[name=stage-effective_on]", dt.date.today().isoformat())
    desktop.click("#change-stage button[type=submit]")
    desktop.wait_for_load_state()
    assert desktop.locator(".badge.stage").first.inner_text() == "签约"
    desktop.goto("/board?kind=leads")
    signed = desktop.locator("section.board-col[aria-label='签约']").inner_text()
    assert title.split()[0][:8] in signed
