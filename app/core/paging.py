"""Keyset ("seek") pagination for the long lists.

A list ordered newest first by ``(updated_at, id)`` pages by remembering where the page ended
instead of counting rows to skip: the next page is "the rows before this one in the order",
found through the index on ``(updated_at, id)`` whatever the depth, where ``OFFSET`` walks every
row in front of it. The last page is the first page of the reversed order.

A position in the list is a *cursor*, ``<updated_at in UTC, ISO 8601>Z~<id>``, carried in the URL as
``after`` (the page after it) or ``before`` (the page before it); ``last=1`` asks for the last
page. A cursor that does not parse is ignored (the first page is shown).

The total is a ``COUNT`` over the same conditions, so the page says how many records the filters
select. It stops at *count_limit* (a count reads every matching row: at 100,000 records it cost
more than the page itself), and the page then says "more than" that many, with a link
(``exact=1``) that counts them all.

The count also tells how to read the page. Walking the order and testing each row finds a page
of many matches soonest; a page of few walks until it has tested every row, or every row before
the matches when they sit at the far end (a manager's park with a chain it has no records of:
150 ms at 100,000 projects). When the count found at most :data:`FEW_ROWS`, the page reads
the matching ids by the filters' own indexes and sorts them (``key IN (...)``): at most a few
thousand rows, whatever the table's size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

SEPARATOR = "~"
#: A count of at most this many rows reads the page by the filters, not by walking the order.
FEW_ROWS = 2000


@dataclass(frozen=True)
class Cursor:
    """A position in a list ordered by ``(at, id)`` descending."""

    at: dt.datetime
    id: int

    def __str__(self) -> str:
        # UTC written with a "Z": no "+" that a hand-copied URL would turn into a space.
        at = self.at if self.at.tzinfo is None else self.at.astimezone(dt.UTC)
        return f"{at.replace(tzinfo=None).isoformat()}Z{SEPARATOR}{self.id}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        """Read a cursor from the URL; None when absent or malformed."""
        if not text or SEPARATOR not in text:
            return None
        at, _, number = text.rpartition(SEPARATOR)
        try:
            moment = dt.datetime.fromisoformat(at.strip().replace(" ", "+"))
            position = int(number)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return cls(moment.astimezone(dt.UTC), position)


@dataclass
class KeysetPage:
    """One page of a list, with the cursors of its neighbours."""

    items: list[Any]
    total: int
    # True when counting stopped at the limit: there are more than ``total`` records.
    more: bool = False
    # False when the page was reached through a cursor (the way back to the first page is open
    # even when the cursor led past the end, to an empty page).
    at_start: bool = True
    has_prev: bool = False
    has_next: bool = False
    prev_cursor: str | None = None
    next_cursor: str | None = None

    @property
    def has_pages(self) -> bool:
        """Whether the list needs a pager (more than one page, or a page off the start)."""
        return self.has_prev or self.has_next or not self.at_start

    # Query arguments of the neighbouring pages, merged into the current URL by the pager.
    @property
    def prev_args(self) -> dict[str, Any]:
        return {"after": None, "last": None, "page": None, "before": self.prev_cursor}

    @property
    def next_args(self) -> dict[str, Any]:
        return {"before": None, "last": None, "page": None, "after": self.next_cursor}

    @property
    def reset_args(self) -> dict[str, Any]:
        return {"before": None, "after": None, "last": None, "page": None}

    @property
    def last_args(self) -> dict[str, Any]:
        return {"before": None, "after": None, "page": None, "last": "1"}


def keyset_page(
    session: Session,
    stmt: Select,
    at: InstrumentedAttribute[Any],
    key: InstrumentedAttribute[Any],
    args: Mapping[str, str],
    per_page: int,
    count_limit: int | None = None,
    counted: Select | None = None,
    few_by_ids: bool = True,
) -> KeysetPage:
    """The page of *stmt* (rows of one entity, any ordering dropped) that *args* ask for, in the
    order ``at DESC, key DESC``; statements: one ``COUNT`` and one page query.

    *counted*: the same rows in the form the database counts fastest (by default *stmt*), and
    for a count of at most :data:`FEW_ROWS` the ids the page is read by, unless *few_by_ids*
    is false (a *stmt* that reads its rows by their ids already)."""
    stmt = stmt.order_by(None)
    matching = (stmt if counted is None else counted.order_by(None)).with_only_columns(key)
    limited = count_limit is not None and not args.get("exact")
    counted = matching.limit(count_limit + 1) if limited else matching
    total = session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    more = limited and total > count_limit
    if more:
        total = count_limit
    elif total <= FEW_ROWS and few_by_ids:
        stmt = stmt.where(key.in_(matching))
    after, before = Cursor.parse(args.get("after")), Cursor.parse(args.get("before"))
    position = tuple_(at, key)
    newest_first = (at.desc(), key.desc())
    oldest_first = (at.asc(), key.asc())
    if after is not None:
        rows = _rows(session, stmt.where(position < (after.at, after.id)), newest_first, per_page)
        page = KeysetPage(rows[:per_page], total, more, has_prev=True)
        page.has_next = len(rows) > per_page
    elif before is not None:
        rows = _rows(session, stmt.where(position > (before.at, before.id)), oldest_first, per_page)
        page = KeysetPage(list(reversed(rows[:per_page])), total, more, has_next=True)
        page.has_prev = len(rows) > per_page
    elif args.get("last"):
        rows = _rows(session, stmt, oldest_first, per_page)
        page = KeysetPage(list(reversed(rows[:per_page])), total, more)
        page.has_prev = len(rows) > per_page
    else:
        rows = _rows(session, stmt, newest_first, per_page)
        page = KeysetPage(rows[:per_page], total, more)
        page.has_next = len(rows) > per_page
    page.at_start = after is None and before is None and not args.get("last")
    if page.items:
        first, last = page.items[0], page.items[-1]
        page.prev_cursor = str(Cursor(getattr(first, at.key), getattr(first, key.key)))
        page.next_cursor = str(Cursor(getattr(last, at.key), getattr(last, key.key)))
    else:
        page.has_prev = page.has_next = False
    return page


def _rows(session: Session, stmt: Select, order: tuple[Any, ...], per_page: int) -> list[Any]:
    # One row more than a page tells whether another page follows.
    return list(session.scalars(stmt.order_by(*order).limit(per_page + 1)).unique())
