"""A position in any order (``app.core.paging``: ``OrderKey``, ``after_position`` and the
cursors): walking a list key by key finds every row once, in the order's own sequence, NULLs
and ties included, on both databases; a cursor reads back exactly what it was made of, and
refuses anything else."""

from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import case, select, update

from app.core.paging import OrderKey, after_position, decode_position, encode_position
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


@pytest.mark.parametrize("name", ORDERS)
def test_walking_by_position_meets_every_row_once_in_order(
    session: Any, leads: list[Lead], name: str
) -> None:
    order = ORDERS[name]
    mine = select(Lead.id).where(Lead.id.in_([lead.id for lead in leads]))
    keys = [k.expr for k in order]
    everything = [row.id for row in session.execute(mine.order_by(*(k.clause() for k in order)))]
    walked: list[int] = []
    position: list[Any] | None = None
    while True:
        stmt = mine.add_columns(*keys).order_by(*(k.clause() for k in order)).limit(2)
        if position is not None:
            # Through a cursor, as a client carries it.
            position = decode_position(encode_position(name, position), name, order)
            stmt = stmt.where(after_position(order, position))
        rows = session.execute(stmt).all()
        if not rows:
            break
        walked += [row.id for row in rows]
        position = list(rows[-1][1:])
    assert walked == everything
    assert sorted(walked) == sorted(lead.id for lead in leads)


def test_keys_that_cannot_be_null_are_compared_as_one_row_value() -> None:
    order = ORDERS["newest activity first (one row value)"]
    condition = str(after_position(order, [BASE, 7]).compile())
    assert "(lead.updated_at, lead.id) <" in condition
    assert "IS NULL" not in condition and " OR " not in condition


def test_a_cursor_reads_back_what_it_was_made_of() -> None:
    order = [
        OrderKey(Lead.updated_at, True),
        OrderKey(Lead.estimated_investment, nullable=True),
        OrderKey(Lead.last_contact_on, nullable=True),
        OrderKey(Lead.title),
        OrderKey(Lead.id),
    ]
    values = [BASE, Decimal("3.1415"), dt.date(2026, 2, 28), "芯片 & 显示", 42]
    cursor = encode_position("-updated_at", values)
    assert cursor.isascii() and "=" not in cursor and "+" not in cursor and "/" not in cursor
    assert decode_position(cursor, "-updated_at", order) == values
    with_nulls = [BASE, None, None, "", 1]
    assert decode_position(encode_position("x", with_nulls), "x", order) == with_nulls
    # A moment in another zone is kept as the same instant.
    shanghai = dt.timezone(dt.timedelta(hours=8))
    later = BASE.astimezone(shanghai)
    assert decode_position(encode_position("x", [later, *values[1:]]), "x", order)[0] == BASE


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
