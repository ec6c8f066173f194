"""Search in names by any part of them, through an index of their character pairs.

A search box matches a word anywhere in a name (``LIKE '%word%'``), which no ordinary index can
answer: at a hundred thousand records every search read every name. The table ``name_gram``
holds, for every searchable name, each pair of neighbouring characters it contains (after
``str.casefold``): "芯片公司" gives 芯片, 片公, 公司. A word of two characters or more can only be
in names holding all of its pairs, so :func:`contains` first takes the records holding the
word's rarest pairs (:data:`RAREST`, counted through the index in the same statement), then keeps
those whose name really matches the ``LIKE``. Pairs, not the trigrams PostgreSQL's ``pg_trgm``
indexes, because two characters are a whole word in Chinese (芯片, 氢能).

The pairs only ever narrow the candidates; the ``LIKE`` decides, so the result is exactly the
``LIKE``'s on either database (a stale pair left by a rename only adds a candidate the ``LIKE``
drops). A missing pair would lose a match, so every write of a name adds its pairs:

- models name their searchable column with ``__search__ = (kind, "column")`` (*kind*: a small
  integer, one per model, stored on each pair) and a session hook keeps the pairs of every
  record flushed through the ORM;
- writers that bypass the ORM (the ledger's bulk import, the benchmark data generator) add
  :func:`pair_rows` themselves, and :func:`rebuild` refills the table from the names.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    SmallInteger,
    String,
    and_,
    delete,
    event,
    func,
    insert,
    inspect,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core.db import Base, escape_like

#: The pairs of the query used to find candidates: its rarest ones.
RAREST = 2
#: Pairs are counted up to this many records when choosing the rarest (a pair found in more
#: names than this is "common", whichever it is).
COUNT_CAP = 2000
#: Names whose pairs are written per statement when filling the table.
BATCH = 5000


class NameGram(Base):
    """One pair of neighbouring characters of one record's searchable name."""

    __tablename__ = "name_gram"
    # The primary key is the index every search reads: (kind, pair) -> records, in order.
    __table_args__ = {"sqlite_with_rowid": False}

    kind: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    gram: Mapped[str] = mapped_column(String(2), primary_key=True)
    ref_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


def grams(text: str | None) -> set[str]:
    """The pairs of neighbouring characters of *text*, case folded (none below two)."""
    folded = (text or "").casefold()
    return {folded[i : i + 2] for i in range(len(folded) - 1)}


Pair = tuple[int, str, int]  # a row of name_gram: (kind, gram, ref_id)


def pair_rows(kind: int, names: Iterable[tuple[int, str | None]]) -> Iterator[Pair]:
    """The ``name_gram`` rows of records given as ``(id, name)``."""
    for ref_id, name in names:
        for gram in sorted(grams(name)):
            yield (kind, gram, ref_id)


def insert_rows(connection: Any, rows: list[Pair]) -> None:
    """Insert *rows* of ``name_gram``, sorted into the primary key's order (each lands next to
    the one before): on PostgreSQL with ``COPY``, a bulk import's millions of pairs taking a
    fraction of an ``executemany``'s time; on SQLite with one ``executemany`` of the plain
    tuples (SQLAlchemy's handling of each row's parameters would take longer than SQLite);
    elsewhere through SQLAlchemy."""
    if not rows:
        return
    rows = sorted(rows)
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy("COPY name_gram (kind, gram, ref_id) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    if connection.dialect.paramstyle == "qmark":
        connection.exec_driver_sql(
            "INSERT INTO name_gram (kind, gram, ref_id) VALUES (?, ?, ?)", rows
        )
        return
    connection.execute(
        insert(NameGram.__table__), [{"kind": k, "gram": g, "ref_id": r} for k, g, r in rows]
    )


def contains(model: Any, text: str, key: Any = None) -> ColumnElement[bool]:
    """Records of *model* whose searchable name contains *text* (``LIKE '%text%'``): found through
    the pairs when *text* has two characters or more, else by testing every name. *key*: the
    expression compared with the candidates' ids (by default ``model.id``)."""
    kind, column = model.__search__
    like = getattr(model, column).like(f"%{escape_like(text)}%", escape="\\")
    wanted = sorted(grams(text))
    if not wanted:
        return like
    if len(wanted) == 1:  # a word of two characters: its one pair, which planners can estimate
        holding = select(NameGram.ref_id).where(NameGram.kind == kind, NameGram.gram == wanted[0])
        return and_((model.id if key is None else key).in_(holding), like)
    query = union_all(*(select(literal(gram).label("gram")) for gram in wanted)).subquery()
    # How many records hold each pair of the query, counted up to COUNT_CAP through the index.
    holders = (
        select(literal(1))
        .where(NameGram.kind == kind, NameGram.gram == query.c.gram)
        .limit(COUNT_CAP)
        .correlate(query)
        .subquery()
    )
    frequency = select(func.count()).select_from(holders).scalar_subquery()
    rarest = select(query.c.gram).order_by(frequency, query.c.gram).limit(RAREST)
    candidates = (
        select(NameGram.ref_id)
        .where(NameGram.kind == kind, NameGram.gram.in_(rarest))
        .group_by(NameGram.ref_id)
        .having(func.count() == min(RAREST, len(wanted)))
    )
    return and_((model.id if key is None else key).in_(candidates), like)


def _kind_and_column(obj: Any) -> tuple[int, str] | None:
    return getattr(type(obj), "__search__", None)


@event.listens_for(Session, "after_flush")
def _keep_pairs(session: Session, flush_context: Any) -> None:
    """Add the pairs of new and renamed names, remove those of deleted records and old names."""
    added: list[Pair] = []
    removed: list[tuple[int, int, set[str]]] = []
    for obj in session.new:
        if spec := _kind_and_column(obj):
            kind, column = spec
            added += pair_rows(kind, [(obj.id, getattr(obj, column))])
    for obj in session.dirty:
        if spec := _kind_and_column(obj):
            kind, column = spec
            history = inspect(obj).attrs[column].history
            if not history.has_changes():
                continue
            new, old = grams(getattr(obj, column)), set()
            for value in history.deleted:
                old |= grams(value)
            added += ((kind, gram, obj.id) for gram in sorted(new - old))
            removed.append((kind, obj.id, old - new))
    for obj in session.deleted:
        if spec := _kind_and_column(obj):
            kind, column = spec
            history = inspect(obj).attrs[column].history
            removed.append((kind, obj.id, grams(history.unchanged[0] if history.unchanged else "")))
    connection = session.connection() if added or removed else None
    for kind, ref_id, old_grams in removed:
        if old_grams:
            connection.execute(
                delete(NameGram).where(
                    NameGram.kind == kind, NameGram.ref_id == ref_id, NameGram.gram.in_(old_grams)
                )
            )
    if added:
        insert_rows(connection, added)


def fill(connection: Any, kind: int, names: Sequence[tuple[int, str | None]]) -> int:
    """Insert the pairs of *names* (``(id, name)``) of *kind*, :data:`BATCH` names at a time;
    returns the number of rows written."""
    written = 0
    for start in range(0, len(names), BATCH):
        rows = list(pair_rows(kind, names[start : start + BATCH]))
        insert_rows(connection, rows)
        written += len(rows)
    return written


def rebuild(session: Session, models: Iterable[Any]) -> int:
    """Refill the pairs of *models* from their names; returns the number of rows written."""
    connection = session.connection()
    written = 0
    for model in models:
        kind, column = model.__search__
        connection.execute(delete(NameGram).where(NameGram.kind == kind))
        names = connection.execute(select(model.id, getattr(model, column))).all()
        written += fill(connection, kind, names)
    return written
