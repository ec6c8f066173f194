"""A position in any order (``app.core.paging``: ``OrderKey``, ``rows_in_order``,
``after_position`` and the cursors): walking a list by position or by offset finds every row
once, in the order's own sequence, NULLs and ties included, on both databases, one statement a
page; a cursor reads back exactly what it was made of, and refuses anything else."""

from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import case, select, update

from app.core.paging import (
    OrderKey,
    after_position,
    decode_position,
    encode_position,
    rows_in_order,
)
from app.pipeline.models import Lead
from tests.factories import LeadFactory

AMOUNTS = [Decimal("5"), None, Decimal("0.5"), Decimal("5"), None, Decimal("12.25"), Decimal("5")]
CONTACTS = [dt.date(2026, 1, d) if d else None for d in (3, 3, None, 1, 9, None, 3)]
BASE = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def leads(session: Any, world: Any) -> list[Lead]:
    """Seven leads whose amounts and last contacts tie and are missing, two of them updated at
    the same moment."""
    made = [
        LeadFactory(
            title=f"顺序{i % 3}",
            owner=world.officer,
            park=world.park_a,
            estimated_investment=amount,
            last_contact_on=contact,
        )
        for i, (amount, contact) in enumerate(zip(AMOUNTS, CONTACTS, strict=True))
    ]
    session.flush()
    for i, lead in enumerate(made):
        at = BASE + dt.timedelta(minutes=min(i, 4))
        session.execute(update(Lead).where(Lead.id == lead.id).values(updated_at=at))
    session.expire_all()
    return made


ORDERS = {
    "amount, largest first": [
        OrderKey(Lead.estimated_investment, True, nullable=True),
        OrderKey(Lead.id, True),
    ],
    "amount, smallest first": [
        OrderKey(Lead.estimated_investment, nullable=True),
        OrderKey(Lead.id),
    ],
    "last contact, then title, mixed directions": [
        OrderKey(Lead.last_contact_on, True, nullable=True),
        OrderKey(Lead.title),
        OrderKey(Lead.id, True),
    ],
    "newest activity first (one row value)": [
        OrderKey(Lead.updated_at, True),
        OrderKey(Lead.id, True),
    ],
    "a computed key first": [
        OrderKey(case((Lead.title == "顺序1", 0), else_=1)),
        OrderKey(Lead.title, True),
        OrderKey(Lead.id),
    ],
    "id alone": [OrderKey(Lead.id)],
}


def _mine(leads: list[Lead]) -> Any:
    return select(Lead.id).where(Lead.id.in_([lead.id for lead in leads]))


def _everything(session: Any, leads: list[Lead], order: list[OrderKey]) -> list[int]:
    """The rows in *order* as one sort of them all gives them."""
    ordered = _mine(leads).order_by(*(k.clause() for k in order))
    return [row.id for row in session.execute(ordered)]


@pytest.mark.parametrize("name", ORDERS)
def test_walking_by_position_meets_every_row_once_in_order(
    session: Any, leads: list[Lead], name: str
) -> None:
    order = ORDERS[name]
    walked: list[int] = []
    position: list[Any] | None = None
    while True:
        if position is not None:
            # Through a cursor, as a client carries it.
            position = decode_position(encode_position(name, position), name, order)
        rows = rows_in_order(session, _mine(leads), order, after=position, limit=2)
        if not rows:
            break
        walked += [row.id for row in rows]
        position = list(rows[-1][1:])
    assert walked == _everything(session, leads, order)
    assert sorted(walked) == sorted(lead.id for lead in leads)


@pytest.mark.parametrize("name", ORDERS)
def test_walking_by_offset_gives_the_same_sequence(
    session: Any, leads: list[Lead], name: str, count_queries: Any
) -> None:
    order = ORDERS[name]
    walked: list[int] = []
    mine = _mine(leads)
    with count_queries() as counter:
        for offset in range(0, 9, 3):
            walked += [
                row.id for row in rows_in_order(session, mine, order, offset=offset, limit=3)
            ]
    assert walked == _everything(session, leads, order)
    assert counter.count == 3  # one statement a page, where the page meets the NULLs too


def test_a_key_that_may_be_null_is_read_in_two_parts_each_by_its_index(
    session: Any, leads: list[Lead], count_queries: Any
) -> None:
    """The rows with an amount are sought as one row value (an index range), the rows
    without by the id: neither part sorts the table."""
    order = ORDERS["amount, largest first"]
    mine, ids = _mine(leads), [lead.id for lead in leads]
    with count_queries() as counter:
        rows_in_order(session, mine, order, after=[Decimal("5"), ids[3]], limit=2)
        # A position among the rows without an amount reads those alone.
        rows_in_order(session, mine, order, after=[None, ids[4]], limit=2)
    valued, among_empty = counter.statements
    assert "lead.estimated_investment IS NOT NULL" in valued
    assert "(lead.estimated_investment, lead.id) <" in valued
    assert "lead.estimated_investment IS NULL ORDER BY lead.id DESC" in valued
    assert "IS NOT NULL" not in among_empty and "lead.id < " in among_empty


def test_keys_that_cannot_be_null_are_compared_as_one_row_value() -> None:
    order = ORDERS["newest activity first (one row value)"]
    condition = str(after_position(order, [BASE, 7]).compile())
    assert "(lead.updated_at, lead.id) <" in condition
    assert "IS NULL" not in condition and " OR " not in condition


def test_a_key_that_may_be_null_has_no_single_condition() -> None:
    with pytest.raises(ValueError, match="rows_in_order"):
        after_position(ORDERS["amount, smallest first"], [Decimal("5"), 7])


def test_a_cursor_reads_back_what_it_was_made_of() -> None:
    order = [
        OrderKey(Lead.last_contact_on, nullable=True),
        OrderKey(Lead.updated_at, True),
        OrderKey(Lead.estimated_investment),
        OrderKey(Lead.title),
        OrderKey(Lead.id),
    ]
    values = [dt.date(2026, 2, 28), BASE, Decimal("3.1415"), "芯片 & 显示", 42]
    cursor = encode_position("-updated_at", values)
    assert cursor.isascii() and "=" not in cursor and "+" not in cursor and "/" not in cursor
    assert decode_position(cursor, "-updated_at", order) == values
    with_null = [None, BASE, Decimal("0"), "", 1]
    assert decode_position(encode_position("x", with_null), "x", order) == with_null
    # A moment in another zone is kept as the same instant.
    shanghai = dt.timezone(dt.timedelta(hours=8))
    later = BASE.astimezone(shanghai)
    moved = [values[0], later, *values[2:]]
    assert decode_position(encode_position("x", moved), "x", order)[1] == BASE


def _raw(tag: Any, values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps([tag, values]).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor",
        "%%%",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        base64.urlsafe_b64encode(b"{}").decode(),
        _raw("name", [None, 1]),  # made for another order
        _raw("-investment", [None]),  # too few values
        _raw("-investment", [None, None]),  # the id cannot be NULL
        _raw("-investment", ["5", "1"]),  # an id as text
        _raw("-investment", ["5", True]),
        _raw("-investment", [5, 1]),  # an amount as a number (amounts travel as text)
        _raw("-investment", ["NaN", 1]),
        _raw("-investment", ["五亿", 1]),
        _raw("-investment", {"a": 1}),
    ],
    ids=lambda cursor: str(len(cursor)),
)
def test_a_cursor_that_does_not_fit_is_refused(cursor: str) -> None:
    order = [OrderKey(Lead.estimated_investment, True, nullable=True), OrderKey(Lead.id, True)]
    with pytest.raises(ValueError):
        decode_position(cursor, "-investment", order)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (OrderKey(Lead.updated_at), "2026-13-01T00:00:00"),
        (OrderKey(Lead.last_contact_on, nullable=True), "昨天"),
        (OrderKey(Lead.last_contact_on, nullable=True), 20260101),
        (OrderKey(Lead.title), 7),
        (OrderKey(Lead.updated_at), "0001-01-01T00:00:00+08:00"),  # before year 1 in UTC
        (OrderKey(Lead.estimated_investment, nullable=True), "0.000000001"),  # under one yuan
        (OrderKey(Lead.estimated_investment, nullable=True), "1E+30"),  # beyond any integer
        (OrderKey(Lead.id), 2**63),
        (OrderKey(Lead.estimated_investment, nullable=True), "1E+999999999"),  # no giant int
        (OrderKey(Lead.estimated_investment, nullable=True), "1E-999999999"),
        (OrderKey(Lead.title), "芯片\x00"),  # no column holds a NUL
        (OrderKey(Lead.title), "\ud800"),  # half of a surrogate pair
    ],
    ids=[
        "month 13",
        "not a date",
        "date as number",
        "text as number",
        "year 0",
        "sub-yuan",
        "huge amount",
        "huge id",
        "giant exponent",
        "tiny exponent",
        "NUL",
        "surrogate",
    ],
)
def test_a_value_of_the_wrong_kind_is_refused(key: OrderKey, value: Any) -> None:
    order = [key, OrderKey(Lead.id)]
    with pytest.raises(ValueError):
        decode_position(_raw("t", [value, 1]), "t", order)
