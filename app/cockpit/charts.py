"""Chart descriptions for the cockpit pages: the same tallies the tables show, as JSON.

A description names its categories and series; each data point carries its number, its 亿元
sum (as text, for the tooltip) and the address of the list behind it, so a click on a bar opens
that list. ``app/static/js/cockpit.js`` turns a description into an ECharts option.
"""

from __future__ import annotations

from typing import Any

from flask import g, url_for

from app.cockpit.services import (
    OPEN_LEAD_STAGES,
    ChainMap,
    Cockpit,
    ParkRow,
)
from app.core.i18n import gettext as _
from app.core.money import format_yi
from app.pipeline.lifecycle import MAIN_LINE
from app.pipeline.stats import COUNTED_EVENTS, REPORT_TIERS, Tally


def list_url(item: Tally) -> str:
    """The address of the list behind a number.

    A cockpit links hundreds of numbers to two lists: the list's address is built once per
    request and the filters appended as its query string (what ``url_for`` would append).
    """
    paths: dict[str, str] = g.setdefault("list_paths", {})
    path = paths.get(item.endpoint)
    if path is None:
        path = paths[item.endpoint] = url_for(item.endpoint)
    query = item.filters.to_query()
    return f"{path}?{query}" if query else path


def tally_title(item: Tally) -> str:
    """The tooltip of a linked number: its count and 亿元 sum (in Python rather than the
    template's ``_()``, which costs several times more, and a cockpit shows hundreds)."""
    return _("%(n)d 个，合计 %(yi)s 亿元", n=item.count, yi=format_yi(item.total))


def point(item: Tally) -> dict[str, Any]:
    return {"value": item.count, "amount": format_yi(item.total), "url": list_url(item)}


def _park_series(rows: list[ParkRow], keys: list[Any]) -> list[dict[str, Any]]:
    return [
        {"name": row.park.name, "data": [point(row.cells[key]) for key in keys]}
        for row in rows
        if row.park is not None
    ]


def cockpit_charts(cockpit: Cockpit) -> dict[str, dict[str, Any]]:
    """Every chart of the cockpit, keyed by the id its container carries."""
    charts: dict[str, dict[str, Any]] = {
        "funnel": {
            "type": "funnel",
            "title": _("转化漏斗"),
            "categories": [step.stage.label for step in cockpit.funnel],
            "series": [
                {
                    "name": _("线索") if cockpit.funnel_kind == "leads" else _("项目"),
                    "data": [point(step.tally) for step in cockpit.funnel],
                }
            ],
        }
    }
    month_labels = [f"{m.year}-{m.month:02d}" for m in cockpit.months]
    for event in COUNTED_EVENTS:
        keys = [(event, month) for month in cockpit.months]
        charts[f"monthly-{event.value}"] = {
            "type": "bar",
            "stacked": True,
            "title": _("每月%(event)s项目数", event=event.label),
            "categories": month_labels,
            "series": _park_series(cockpit.monthly_rows[event], keys),
        }
    stages = list(MAIN_LINE)
    charts["tiers"] = {
        "type": "bar",
        "title": _("各阶段亿元以上项目数"),
        "categories": [s.label for s in stages],
        "series": [
            {
                "name": cockpit.thresholds.label(tier),
                "data": [point(cockpit.tier_rows[tier][-1].cells[s]) for s in stages],
            }
            for tier in REPORT_TIERS
        ],
    }
    stalled_names = {
        ("leads", "stale"): _("线索久未联系"),
        ("leads", "too_long"): _("线索阶段超期"),
        ("projects", "stale"): _("项目久未联系"),
        ("projects", "too_long"): _("项目阶段超期"),
    }
    park_rows = [row for row in cockpit.stalled_rows if row.park is not None]
    charts["stalled"] = {
        "type": "bar",
        "title": _("各园区停滞事项"),
        "categories": [row.park.name for row in park_rows],
        "series": [
            {"name": name, "data": [point(row.cells[key]) for row in park_rows]}
            for key, name in stalled_names.items()
        ],
    }
    charts["medians"] = {
        "type": "bar",
        "horizontal": True,
        "title": _("各阶段停留天数中位数"),
        "categories": [stage.label for stage, _l, _p in cockpit.medians],
        "series": [
            {
                "name": _("线索"),
                "data": [{"value": _median(lead)} for _s, lead, _p in cockpit.medians],
            },
            {
                "name": _("项目"),
                "data": [{"value": _median(proj)} for _s, _l, proj in cockpit.medians],
            },
        ],
    }
    return charts


def _median(found: tuple[float, int] | None) -> float | None:
    return round(found[0], 1) if found else None


def chain_chart(chain_map: ChainMap) -> dict[str, Any]:
    """Projects by stage in every link of a chain, upstream to downstream, and its open leads."""
    links = chain_map.links
    series = [
        {
            "name": _("%(stage)s（项目）", stage=stage.label),
            "data": [point(view.projects_by_stage[stage]) for view in links],
        }
        for stage in MAIN_LINE
    ]
    series += [
        {
            "name": _("%(stage)s（线索）", stage=stage.label),
            "data": [point(view.leads_by_stage[stage]) for view in links],
        }
        for stage in OPEN_LEAD_STAGES
    ]
    return {
        "type": "bar",
        "stacked": True,
        "horizontal": True,
        "title": _("%(chain)s产业链各环节", chain=chain_map.chain.name),
        "categories": [view.link.name for view in links],
        "series": series,
    }
