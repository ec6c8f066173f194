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

The API's lists are sorted by any of several columns, either way, some of which may be empty;
their positions are general (the second half of this module): an order is a list of
:class:`OrderKey`, and :func:`rows_in_order` reads the rows after a given row's keys, or from
an offset. A column that may be empty is read in two parts, the rows with a value and those
without, each through its index: no database's index holds "NULLs last" in both directions.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    TypeDecorator,
    and_,
    func,
    or_,
    select,
    tuple_,
    union_all,
)
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


def counted_rows(
    session: Session,
    stmt: Select,
    key: Any,
    counted: Select | None = None,
    count_limit: int | None = None,
    few_by_ids: bool = True,
) -> tuple[Select, int, bool]:
    """Count the rows of *stmt* (one ``COUNT``), and say how to read a page of them.

    *counted*: the same rows in the form the database counts fastest (by default *stmt*); the
    count stops past *count_limit* (None: it counts them all). Returns *stmt* without its
    ordering, or, for a count of at most :data:`FEW_ROWS` (and *few_by_ids*: false for a
    *stmt* that reads its rows by their ids already), *stmt* reading the matching *key*s, by
    the filters' own indexes; the total (at most *count_limit*); and whether there are more."""
    stmt = stmt.order_by(None)
    matching = (stmt if counted is None else counted.order_by(None)).with_only_columns(key)
    limited = matching if count_limit is None else matching.limit(count_limit + 1)
    total = session.scalar(select(func.count()).select_from(limited.subquery())) or 0
    if count_limit is not None and total > count_limit:
        return stmt, count_limit, True
    if 0 < total <= FEW_ROWS and few_by_ids:
        stmt = stmt.where(key.in_(matching))
    return stmt, total, False


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
    order ``at DESC, key DESC``; statements: one ``COUNT`` and one page query (none when the
    count finds nothing).

    *counted*, *count_limit* (unless the page asks for the ``exact`` count) and *few_by_ids*:
    see :func:`counted_rows`."""
    limit = None if args.get("exact") else count_limit
    stmt, total, more = counted_rows(session, stmt, key, counted, limit, few_by_ids)
    after, before = Cursor.parse(args.get("after")), Cursor.parse(args.get("before"))
    if total == 0:  # nothing to read: the page is empty wherever the cursor points
        return KeysetPage([], 0, at_start=after is None and before is None and not args.get("last"))
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


# --- a position in any order (the API's cursors) ----------------------------------------------

#: The largest power of ten (either way) a decimal in a cursor may have.
MAX_DIGITS = 30


@dataclass(frozen=True)
class OrderKey:
    """One key of a list's order: an expression, its direction, and whether it may be NULL
    (NULLs come last in either direction; only the first key may be). The last key of an
    order must be unique and not NULL (an id), so that every row has one position."""

    expr: ColumnElement[Any]
    descending: bool = False
    nullable: bool = False

    def clause(self) -> ColumnElement[Any]:
        ordered = self.expr.desc() if self.descending else self.expr.asc()
        return ordered.nulls_last() if self.nullable else ordered


def after_position(order: Sequence[OrderKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """The condition selecting the rows that *order* (keys that cannot be NULL) puts after
    the row whose keys are *values*.

    Keys that run in one direction are compared as one row value, ``(a, b) < (x, y)``, which
    both databases seek through an index on ``(a, b)``; mixed directions are spelt out
    (``a > x OR (a = x AND …)``)."""
    if len(order) != len(values) or not order:
        raise ValueError("one value per key")
    if any(k.nullable for k in order):
        raise ValueError("a key that may be NULL: read the page with rows_in_order")
    first = order[0]
    if all(k.descending == first.descending for k in order):
        keys = tuple_(*(k.expr for k in order)) if len(order) > 1 else first.expr
        # Typed as the keys: a column type's own conversion (whole yuan, UTC) applies.
        point = tuple_(*values, types=[k.expr.type for k in order]) if len(order) > 1 else values[0]
        return keys < point if first.descending else keys > point
    later = first.expr < values[0] if first.descending else first.expr > values[0]
    tie = and_(first.expr == values[0], after_position(order[1:], values[1:]))
    return or_(later, tie)


def rows_in_order(
    session: Session,
    stmt: Select,
    order: Sequence[OrderKey],
    *,
    after: Sequence[Any] | None = None,
    offset: int = 0,
    limit: int,
) -> list[Any]:
    """Up to *limit* rows of *stmt* in *order*, each followed by its keys' values: those after
    the row whose keys are *after*, or from *offset*. One statement.

    A first key that may be NULL has no index order on both databases (SQLite files NULLs
    first, PostgreSQL last, and a descending ``NULLS LAST`` matches neither's index read
    backwards): the rows with a value and those without are then read apart, each through its
    index and no further than the page needs, and only those few are sorted together."""
    if order[0].nullable:
        stmt = stmt.where(order[-1].expr.in_(_ids_in_order(stmt, order, after, offset + limit)))
    elif after is not None:
        stmt = stmt.where(after_position(order, after))
    stmt = stmt.add_columns(*(k.expr for k in order)).order_by(*(k.clause() for k in order))
    return list(session.execute(stmt.offset(offset or None).limit(limit)).all())


def _ids_in_order(
    stmt: Select, order: Sequence[OrderKey], after: Sequence[Any] | None, count: int
) -> Select:
    """The ids of the first *count* rows after *after* among those whose first key has a
    value, and of the first *count* among those without (which come after all the others)."""
    first, rest = order[0], list(order[1:])
    if not rest:
        raise ValueError("an order ends with a key that cannot be NULL")
    ident = order[-1].expr
    valued = [OrderKey(first.expr, first.descending), *rest]
    parts = []
    if after is None or after[0] is not None:
        part = stmt.where(first.expr.is_not(None))
        if after is not None:
            part = part.where(after_position(valued, after))
        parts.append(part.order_by(*(k.clause() for k in valued)))
    empty = stmt.where(first.expr.is_(None))
    if after is not None and after[0] is None:
        empty = empty.where(after_position(rest, after[1:]))
    parts.append(empty.order_by(*(k.clause() for k in rest)))
    # Each part in a subquery of its own: a compound SELECT orders and limits only as a whole.
    limited = [select(p.with_only_columns(ident).limit(count).subquery()) for p in parts]
    return union_all(*limited) if len(limited) > 1 else limited[0]


def encode_position(tag: str, values: Sequence[Any]) -> str:
    """An opaque cursor for the row whose keys are *values*, in the order named *tag*: URL-safe
    Base64 of ``[tag, [values]]`` as JSON, dates and times in ISO 8601, decimals as text."""

    def plain(value: Any) -> Any:
        if isinstance(value, dt.date | dt.datetime):
            if isinstance(value, dt.datetime) and value.tzinfo is not None:
                value = value.astimezone(dt.UTC)
            return value.isoformat()
        if isinstance(value, Decimal):
            return str(value)
        return value

    text = json.dumps([tag, [plain(v) for v in values]], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_position(cursor: str, tag: str, order: Sequence[OrderKey]) -> list[Any]:
    """The key values of a cursor from :func:`encode_position`, typed as *order*'s keys.

    Raises ``ValueError`` for a cursor that does not parse, was made for another order than
    *tag*, or whose values do not fit the keys."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        made_for, values = json.loads(raw.decode())
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error) as exc:
        raise ValueError("malformed cursor") from exc
    if made_for != tag:
        raise ValueError("cursor of another order")
    if not isinstance(values, list) or len(values) != len(order):
        raise ValueError("cursor does not fit the order")
    return [_typed(key, value) for key, value in zip(order, values, strict=True)]


def _typed(key: OrderKey, value: Any) -> Any:
    """*value* as *key*'s type, and one its column can store (else ``ValueError``)."""
    if value is None:
        if not key.nullable:
            raise ValueError("NULL for a key that cannot be NULL")
        return None
    column_type = key.expr.type
    try:
        typed = _as(column_type.python_type, value)
        # What the column's own type would send (an amount in whole yuan, a moment in UTC): a
        # value it refuses, or an integer no database integer holds, would fail in the statement.
        stored = (
            column_type.process_bind_param(typed, None)
            if isinstance(column_type, TypeDecorator)
            else typed
        )
    except ArithmeticError as exc:  # decimal.InvalidOperation, OverflowError
        raise ValueError("value out of range") from exc
    if isinstance(stored, int) and not -(2**63) <= stored < 2**63:
        raise ValueError("integer out of range")
    return typed


def _as(kind: type, value: Any) -> Any:
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise ValueError("value of the wrong type")
    if any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in value):
        raise ValueError("a character no column holds")  # NUL, or half of a surrogate pair
    if kind is str:
        return value
    if kind is Decimal:
        number = Decimal(value)
        # Finite, and of a size a column holds: converting 1E+999999999 to whole yuan would
        # compute a billion-digit integer.
        if not number.is_finite() or abs(number.adjusted()) > MAX_DIGITS:
            raise ValueError("not a number a column holds")
        return number
    if kind is dt.datetime:
        moment = dt.datetime.fromisoformat(value)
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    if kind is dt.date:
        return dt.date.fromisoformat(value)
    raise ValueError("value of the wrong type")
