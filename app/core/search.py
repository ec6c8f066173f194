"""Search in names by any part of them, through an index of their character pairs.

A search box matches a word anywhere in a name (``LIKE '%word%'``), which no ordinary index can
answer: at a hundred thousand records every search read every name. The table ``name_gram``
holds, for every searchable name, each pair of neighbouring characters it contains (after
``str.casefold``): "芯片公司" gives 芯片, 片公, 公司. A word of two characters or more can only be
in names holding all of its pairs, so :func:`contains` first takes the records holding the
word's rarest pairs (:data:`RAREST`, counted through the index in the same statement, or chosen
once per request by :class:`Word`), then keeps those whose name really matches the ``LIKE``.
Pairs, not the trigrams PostgreSQL's ``pg_trgm`` indexes, because two characters are a whole
word in Chinese (芯片, 氢能).

A word whose every pair is common, held by :data:`COMMON_HOLDERS` names of a kind or more
("项目" in nearly every lead's title, "有限公司" in every enterprise's name), gains nothing from
them there: gathering every holder of its pairs read 200,000 index entries for one statement of
a list page. :class:`Word` finds such kinds once per request, and for them the names are tested
row by row with the ``LIKE`` alone, which a page, a capped count or a bounded check stops after
the matches it needs, and a common word has plenty.

The pairs narrow the candidates and the ``LIKE`` decides, so the result is exactly the
``LIKE``'s on either database; a word of two Chinese characters is its own pair
(:func:`is_its_own_pair`), and holding the pair decides. So the pairs must be exact: every
write of a name adds its pairs and a rename removes the old ones:

- models name their searchable column with ``__search__ = (kind, "column")`` (*kind*: a small
  integer, one per model, stored on each pair) and a session hook keeps the pairs of every
  record flushed through the ORM;
- writers that bypass the ORM (the ledger's bulk import, the benchmark data generator) add
  :func:`pair_rows` themselves, and :func:`rebuild` refills the table from the names.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
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
#: A pair held by this many names of a kind or more does not narrow a search there (see the
#: module's docstring); a word whose pairs are all that common is matched by ``LIKE`` alone.
COMMON_HOLDERS = 10_000
#: Unicode's CJK ideographs (Unified Ideographs and Extension A): characters without case.
IDEOGRAPHS = ("\u3400", "\u9fff")
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


def is_its_own_pair(text: str) -> bool:
    """Whether the names holding *text*'s one pair are exactly those containing *text*: two
    ideographs (Chinese characters, which no case folding changes or produces), the usual
    two-character Chinese word. Any other word's pairs only narrow, and ``LIKE`` decides."""
    return len(text) == 2 and all(IDEOGRAPHS[0] <= char <= IDEOGRAPHS[1] for char in text)


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


def _holders(kind: int, gram: Any, cap: int, outer: Any) -> Any:
    """How many records of *kind* hold *gram*, a column of the query *outer*, counted through
    the index up to *cap*."""
    first = (
        select(literal(1))
        .where(NameGram.kind == kind, NameGram.gram == gram)
        .limit(cap)
        .correlate(outer)
    )
    return select(func.count()).select_from(first.subquery()).scalar_subquery()


def _rarest(kind: int, wanted: Sequence[str], cap: int | None = None) -> Select:
    """The :data:`RAREST` of the pairs *wanted* that the fewest records of *kind* hold, each
    counted through the index up to *cap* (by default :data:`COUNT_CAP`; ties go by the pair),
    with that count."""
    cap = COUNT_CAP if cap is None else cap
    query = union_all(*(select(literal(gram).label("gram")) for gram in wanted)).subquery()
    frequency = _holders(kind, query.c.gram, cap, query).label("holders")
    return select(query.c.gram, frequency).order_by(frequency, query.c.gram).limit(RAREST)


def _choose(
    session: Session, kinds: Iterable[int], wanted: Sequence[str], cap: int
) -> dict[int, list[tuple[str, int]]]:
    """For each of *kinds*, its :func:`_rarest` pairs of *wanted* with their counts, rarest
    first; one statement."""
    chosen = union_all(
        *(
            select(literal(kind).label("kind"), rarest.c.gram, rarest.c.holders)
            for kind in kinds
            for rarest in [_rarest(kind, wanted, cap).subquery()]
        )
    )
    found: dict[int, list[tuple[str, int]]] = {kind: [] for kind in kinds}
    for kind, gram, holders in session.execute(chosen):
        found[kind].append((gram, holders))
    for pairs in found.values():
        pairs.sort(key=lambda pair: (pair[1], pair[0]))
    return found


class Word(str):
    """A searched text with the pairs chosen, once, to find it in the names of some kinds of
    record (``rarest``: kind -> pairs), and the kinds in which its pairs are all common
    (``common``: matched by ``LIKE`` alone). A request that puts the same word to the database
    in several statements (a bound, a count, a page; each for records and for enterprises)
    reads it with :meth:`read`, and each statement then names its pairs instead of choosing
    them again. Anywhere else it is the plain text it was read from."""

    rarest: Mapping[int, tuple[str, ...]]
    common: frozenset[int]

    def __new__(
        cls,
        text: str,
        rarest: Mapping[int, tuple[str, ...]],
        common: Iterable[int] = (),
    ) -> Word:
        word = super().__new__(cls, text)
        word.rarest = MappingProxyType(dict(rarest))
        word.common = frozenset(common)
        return word

    @classmethod
    def read(cls, session: Session, text: str, models: Iterable[Any]) -> Word:
        """*text* with the pairs to find it by among the names of *models*: its :data:`RAREST`
        rarest, less those held by as many records as the count reached. A pair far more
        common than the other adds only reading: the records holding the rarer one are few
        enough for the ``LIKE`` alone.

        The pairs are counted up to :data:`COUNT_CAP` (one statement, for a word of more than
        :data:`RAREST` pairs), and where even the rarest reached it, again up to
        :data:`COMMON_HOLDERS` (one more statement; the first for a shorter word, whose pairs
        are all its pairs): where every pair reaches that too, the kind is ``common``. A word
        of one character has no pairs: no statement."""
        wanted = sorted(grams(text))
        kinds = [model.__search__[0] for model in models]
        rarest: dict[int, tuple[str, ...]] = dict.fromkeys(kinds, ())
        if not wanted:
            return cls(text, rarest)
        common = []
        again = list(kinds)
        for cap in (COUNT_CAP, COMMON_HOLDERS):
            if len(wanted) <= RAREST and cap == COUNT_CAP:
                continue  # every pair is used: the finer count alone tells which are common
            for kind, counted in _choose(session, again, wanted, cap).items():
                kept = tuple(gram for gram, holders in counted if holders < cap)
                if kept:
                    rarest[kind] = kept
                    again.remove(kind)
                elif cap == COMMON_HOLDERS:
                    common.append(kind)
            if not again:
                break
        return cls(text, rarest, common)


def contains(model: Any, text: str, key: Any = None) -> ColumnElement[bool]:
    """Records of *model* whose searchable name contains *text* (``LIKE '%text%'``): found through
    the pairs when *text* has two characters or more, else by testing every name. *text* may be
    a :class:`Word` whose pairs were chosen already. *key*: the expression compared with the
    candidates' ids (by default ``model.id``)."""
    kind, column = model.__search__
    like = getattr(model, column).like(f"%{escape_like(text)}%", escape="\\")
    key = model.id if key is None else key
    wanted = sorted(grams(text))
    if not wanted or (isinstance(text, Word) and kind in text.common):
        return like
    chosen = text.rarest.get(kind) if isinstance(text, Word) else None
    if len(wanted) == 1 or (chosen and len(chosen) == 1):
        # One pair (a word of two characters, or one pair rare enough), which planners can
        # estimate.
        gram = chosen[0] if chosen else wanted[0]
        holding = select(NameGram.ref_id).where(NameGram.kind == kind, NameGram.gram == gram)
        if is_its_own_pair(text):
            return key.in_(holding)
        return and_(key.in_(holding), like)
    # The records holding every one of the rarest pairs (named, or chosen in the statement).
    rarest: Any = chosen if chosen else select(_rarest(kind, wanted).subquery().c.gram)
    candidates = (
        select(NameGram.ref_id)
        .where(NameGram.kind == kind, NameGram.gram.in_(rarest))
        .group_by(NameGram.ref_id)
        .having(func.count() == (len(chosen) if chosen else min(RAREST, len(wanted))))
    )
    return and_(key.in_(candidates), like)


def named(model: Any, text: str) -> Select:
    """The ids of the records of *model* whose searchable name contains *text*, for use as a set
    of ids (``column.in_(...)``): for a word that is its own pair (:func:`is_its_own_pair`), the
    pair's holders read from the pair index alone, without the records, since holding the pair
    decides (even a common pair: a set of ids is read whole, and the index holds it more
    compactly than the table); otherwise the records that :func:`contains` selects.

    Reading the records as well cost PostgreSQL a walk of the whole primary key: for a common
    word's 2,860 enterprises it merged them with all 20,000 enterprise ids, 3 ms per statement,
    where the pairs alone take 0.4 ms."""
    if is_its_own_pair(text):
        kind = model.__search__[0]
        return select(NameGram.ref_id).where(NameGram.kind == kind, NameGram.gram == str(text))
    return select(model.id).where(contains(model, text))


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
