"""The long lists page by position (keyset): every record once, in order, forwards and back,
whatever the depth, with the filters kept and the total counted."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from sqlalchemy import update

from app.core import paging
from app.core.paging import Cursor
from app.pipeline import queries
from app.pipeline.models import Lead
from tests.factories import LeadFactory

PER_PAGE = 3
BASE = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def leads(app: Any, session: Any, world: Any) -> list[Lead]:
    """Eight leads in park A, newest first; two pairs share their updated_at (ties go by id)."""
    app.config["PAGE_SIZE"] = PER_PAGE
    made = [
        LeadFactory(title=f"分页线索{i}", owner=world.officer, park=world.park_a) for i in range(8)
    ]
    session.flush()
    for i, lead in enumerate(made):
        at = BASE + dt.timedelta(hours=i // 2 * 2 + (i % 2 if i < 4 else 0))
        session.execute(update(Lead).where(Lead.id == lead.id).values(updated_at=at))
    # Off the filter: a lead of park B, the newest of all.
    LeadFactory(title="乙园区线索", owner=world.other_officer, park=world.park_b)
    session.commit()
    yield sorted(made, key=lambda lead: (lead.updated_at, lead.id), reverse=True)
    app.config["PAGE_SIZE"] = 25


def titles(page: str) -> list[str]:
    return re.findall(r"分页线索\d", page)


def link(page: str, label: str) -> str | None:
    """The href of the pager's *label* link, or None when it is disabled."""
    match = re.search(rf'<a class="page-link"[^>]*href="([^"]*)">{label}</a>', page)
    assert match, label
    href = html.unescape(match.group(1))
    return None if href == "#" else href


@pytest.mark.parametrize("few_rows", [paging.FEW_ROWS, 0], ids=["read-by-ids", "walked"])
def test_walks_forwards_and_back_through_every_record_once(
    login_as: Any, world: Any, leads: list[Lead], few_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """*few_rows*: eight records are few, and each page is read by their ids; with no count
    small enough, by walking the list's order. The pages are the same."""
    monkeypatch.setattr(paging, "FEW_ROWS", few_rows)
    client = login_as(world.manager)
    expected = [lead.title for lead in leads]
    url: str | None = f"/leads?park={world.park_a.id}"
    seen, pages = [], []
    while url:
        page = client.get(url).get_data(as_text=True)
        assert "共 8 条" in page
        assert f"park={world.park_a.id}" in (link(page, "下一页") or f"park={world.park_a.id}")
        pages.append(page)
        seen += titles(page)
        url = link(page, "下一页")
    assert seen == expected
    assert len(pages) == 3
    assert link(pages[0], "上一页") is None and link(pages[0], "第一页") is None
    # Back from the last page to the first, page by page.
    back = []
    url = link(pages[-1], "上一页")
    back.append(titles(pages[-1]))
    while url:
        page = client.get(url).get_data(as_text=True)
        back.append(titles(page))
        url = link(page, "上一页")
    assert [t for chunk in reversed(back) for t in chunk] == expected


def test_last_page_and_first_page_links(login_as: Any, world: Any, leads: list[Lead]) -> None:
    client = login_as(world.manager)
    first = client.get(f"/leads?park={world.park_a.id}").get_data(as_text=True)
    last = client.get(link(first, "末页")).get_data(as_text=True)
    # The last page holds the oldest records (8 = 3 + 3 + 2, the last page is full from the end).
    assert titles(last) == [lead.title for lead in leads[-PER_PAGE:]]
    assert link(last, "下一页") is None and link(last, "末页") is None
    again = client.get(link(last, "第一页")).get_data(as_text=True)
    assert titles(again) == titles(first) == [lead.title for lead in leads[:PER_PAGE]]


def test_a_malformed_cursor_shows_the_first_page(
    login_as: Any, world: Any, leads: list[Lead]
) -> None:
    client = login_as(world.manager)
    for junk in ("x", "2026-13-01~1", "~", "2026-03-01T08:00:00~abc"):
        response = client.get(f"/leads?park={world.park_a.id}&after={junk}")
        assert response.status_code == 200
        assert titles(response.get_data(as_text=True)) == [x.title for x in leads[:PER_PAGE]]


def test_a_record_changed_meanwhile_does_not_shift_the_next_page(
    login_as: Any, world: Any, session: Any, leads: list[Lead]
) -> None:
    """Paging by position: a record edited after page 1 was shown moves to the top, and page 2
    still starts right after the last record page 1 showed (OFFSET would repeat one)."""
    client = login_as(world.manager)
    first = client.get(f"/leads?park={world.park_a.id}").get_data(as_text=True)
    moved = leads[-1]
    session.execute(
        update(Lead).where(Lead.id == moved.id).values(updated_at=BASE + dt.timedelta(days=9))
    )
    session.commit()
    second = client.get(link(first, "下一页")).get_data(as_text=True)
    assert titles(second) == [lead.title for lead in leads[PER_PAGE : 2 * PER_PAGE]]


def test_a_cursor_past_the_end_shows_an_empty_page_with_the_way_back(
    login_as: Any, world: Any, leads: list[Lead]
) -> None:
    client = login_as(world.manager)
    oldest = leads[-1]
    page = client.get(
        f"/leads?park={world.park_a.id}&after={Cursor(oldest.updated_at, oldest.id)}"
    ).get_data(as_text=True)
    assert titles(page) == []
    assert link(page, "下一页") is None and link(page, "上一页") is None
    assert titles(client.get(link(page, "第一页")).get_data(as_text=True)) == [
        lead.title for lead in leads[:PER_PAGE]
    ]


@pytest.mark.parametrize("position", ["", "&last=1", "&after={cursor}", "&before={cursor}"])
def test_a_list_that_matches_nothing_reads_no_page(
    login_as: Any, world: Any, leads: list[Lead], count_queries: Any, position: str
) -> None:
    """The count found nothing: the page is empty without being read, wherever it points,
    and offers the way back to the first page only when it was asked for another one."""
    client = login_as(world.manager)
    cursor = Cursor(leads[0].updated_at, leads[0].id)
    url = f"/leads?park={world.park_a.id}&q=没有这样的线索{position.format(cursor=cursor)}"
    with count_queries() as counter:
        page = client.get(url).get_data(as_text=True)
    assert not [sql for sql in counter.statements if "ORDER BY lead.updated_at" in sql]
    assert titles(page) == [] and "没有记录" in page
    if position:
        assert link(page, "下一页") is None and link(page, "上一页") is None
        assert link(page, "第一页") is not None
    else:
        assert 'class="page-link"' not in page  # no pager at all


def test_cursor_round_trip() -> None:
    cursor = Cursor(BASE + dt.timedelta(microseconds=123), 42)
    assert Cursor.parse(str(cursor)) == cursor
    assert str(cursor) == "2026-03-01T08:00:00.000123Z~42"
    # The same moment written in Beijing time, or with its "+" turned into a space by a URL.
    assert Cursor.parse("2026-03-01T16:00:00.000123+08:00~42") == cursor
    assert Cursor.parse("2026-03-01T08:00:00.000123 00:00~42") == cursor
    assert Cursor.parse(None) is None
    assert Cursor.parse("") is None


def test_a_small_count_reads_the_page_by_the_matching_ids(
    login_as: Any,
    world: Any,
    leads: list[Lead],
    count_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Walking the order for a page of few matches tests every row before them; a count of at
    most FEW_ROWS reads the page by the ids its filters select. More than that: the walk."""
    client = login_as(world.manager)
    url = f"/leads?park={world.park_a.id}"

    def page_statement() -> str:
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        (page,) = [sql for sql in counter.statements if "ORDER BY lead.updated_at DESC" in sql]
        return page

    assert "lead.id IN (SELECT lead.id" in page_statement()
    monkeypatch.setattr(paging, "FEW_ROWS", 7)
    assert "lead.id IN (SELECT lead.id" not in page_statement()


def test_a_common_word_with_other_filters_is_tested_on_their_rows(
    login_as: Any,
    world: Any,
    leads: list[Lead],
    count_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A common word alone, for whoever sees everything, is counted as the database sees fit;
    with a park filter (or a manager's parks), counted on the park's rows, the word tested
    row by row; a small count reads the page by the ids it counted."""
    monkeypatch.setattr(queries, "FEW_MATCHES", 2)

    def statements(user: Any, url: str) -> tuple[str, str]:
        client = login_as(user)
        with count_queries() as counter:
            page = client.get(url).get_data(as_text=True)
        assert titles(page) == [lead.title for lead in leads[:PER_PAGE]]
        (count,) = [sql for sql in counter.statements if sql.startswith("SELECT count(*)")][-1:]
        (rows,) = [sql for sql in counter.statements if "ORDER BY lead.updated_at DESC" in sql]
        return count, rows

    count, rows = statements(world.leader, "/leads?q=分页线索")
    assert "lead.id + " not in count  # the "any" form
    count, rows = statements(world.leader, f"/leads?q=分页线索&park={world.park_a.id}")
    assert "lead.id + " in count  # the walk's form
    assert "lead.id IN (SELECT lead.id" in rows
    count, rows = statements(world.manager, "/leads?q=分页线索")
    assert "lead.id + " in count


def test_counting_stops_at_the_limit_and_counts_all_when_asked(
    app: Any, login_as: Any, world: Any, leads: list[Lead]
) -> None:
    app.config["LIST_COUNT_LIMIT"] = 5
    try:
        client = login_as(world.manager)
        first = client.get(f"/leads?park={world.park_a.id}").get_data(as_text=True)
        assert "超过 5 条" in first and "共 8 条" not in first
        exact = re.search(r'<a href="([^"]*)">精确计数</a>', first)
        assert exact and "exact=1" in exact.group(1)
        counted = client.get(html.unescape(exact.group(1))).get_data(as_text=True)
        assert "共 8 条" in counted and "精确计数" not in counted
        # Paging does not depend on the count: every record, once, in order.
        seen, url = [], f"/leads?park={world.park_a.id}"
        while url:
            page = client.get(url).get_data(as_text=True)
            seen += titles(page)
            url = link(page, "下一页")
        assert seen == [lead.title for lead in leads]
        # Under the limit the count is exact and offers nothing more.
        app.config["LIST_COUNT_LIMIT"] = 8
        page = client.get(f"/leads?park={world.park_a.id}").get_data(as_text=True)
        assert "共 8 条" in page and "精确计数" not in page
    finally:
        app.config["LIST_COUNT_LIMIT"] = 10000


def test_a_common_word_is_counted_up_to_the_search_limit(
    app: Any, login_as: Any, world: Any, leads: list[Lead], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search matching more than FEW_MATCHES records counts up to SEARCH_COUNT_LIMIT; a rare
    one, and every list without a search, up to LIST_COUNT_LIMIT."""
    monkeypatch.setattr(queries, "FEW_MATCHES", 2)
    monkeypatch.setitem(app.config, "SEARCH_COUNT_LIMIT", 4)
    client = login_as(world.manager)
    common = client.get("/leads?q=分页线索").get_data(as_text=True)
    assert "超过 4 条" in common
    exact = re.search(r'<a href="([^"]*)">精确计数</a>', common)
    assert exact and "共 8 条" in client.get(html.unescape(exact.group(1))).get_data(as_text=True)
    assert titles(common) == [lead.title for lead in leads[:PER_PAGE]]
    assert "共 1 条" in client.get("/leads?q=分页线索3").get_data(as_text=True)
    assert "共 8 条" in client.get(f"/leads?park={world.park_a.id}").get_data(as_text=True)
