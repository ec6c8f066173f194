"""Read-side queries of the pipeline: filtered lists, "my work", the park board, timelines.

Each page runs a fixed number of statements whatever the data size: lists join their
many-to-one neighbours, aggregates are computed in SQL, and nothing is loaded per row.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote_plus

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    and_,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased, joinedload

from app.auth.models import User
from app.core import search
from app.core.audit import AuditLog
from app.core.db import SAME_PLAN
from app.core.i18n import lazy_gettext as _l
from app.core.sqlite import Likely
from app.core.timeutil import today_local, week_bounds
from app.enterprises.credit_code import normalize_credit_code
from app.enterprises.models import Enterprise
from app.parks.models import Chain, ChainLink, Park, link_name
from app.pipeline import lifecycle, visibility
from app.pipeline.flags import TIERS, Thresholds
from app.pipeline.lifecycle import (
    ACTIVE,
    ALL_STAGES,
    MAIN_LINE,
    MILESTONE_FIELDS,
    Stage,
)
from app.pipeline.models import (
    FIELD_LABELS,
    ContactLog,
    ContactType,
    Lead,
    LeadSource,
    Project,
    StageChange,
    StageProposal,
)

# The characters of a query value that urlencode leaves as they are.
_UNQUOTED = frozenset(string.ascii_letters + string.digits + "_.-~")


@dataclass
class ListFilters:
    """The filters of the lead and project lists (all optional).

    The cockpit and the reports count records with these same filters, so that a number on a chart
    and the list it links to always agree: see :mod:`app.pipeline.stats`.
    """

    park_id: int | None = None
    chain_ids: tuple[int, ...] = ()
    link_id: int | None = None
    stage: Stage | None = None
    tier: str | None = None
    owner_id: int | None = None
    stale: bool = False
    too_long: bool = False
    q: str = ""
    # A dated event and an inclusive date range: a milestone (签约/开工/投产/达产 date on the
    # record) or Stage.LEAD for the day the record was opened.
    event: Stage | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    # Records whose history shows they entered this stage at some time.
    reached: Stage | None = None

    @classmethod
    def from_args(cls, args: Any) -> ListFilters:
        """Read filters from query arguments, ignoring values that do not parse."""

        def _int(value: str | None) -> int | None:
            try:
                return int(value or "")
            except ValueError:
                return None

        def _stage(name: str, allowed: Any = None) -> Stage | None:
            value = args.get(name, "")
            stage = Stage(value) if value in STAGE_VALUES else None
            return stage if allowed is None or stage in allowed else None

        def _date(name: str) -> dt.date | None:
            try:
                return dt.date.fromisoformat(args.get(name, "").strip())
            except ValueError:
                return None

        tier = args.get("tier", "")
        chains = args.getlist("chain") if hasattr(args, "getlist") else [args.get("chain")]
        return cls(
            park_id=_int(args.get("park")),
            chain_ids=tuple(sorted({c for c in map(_int, chains) if c})),
            link_id=_int(args.get("link")),
            stage=_stage("stage"),
            tier=tier if tier in TIERS else None,
            owner_id=_int(args.get("owner")),
            stale=args.get("stale") in TRUE_WORDS,
            too_long=args.get("too_long") in TRUE_WORDS,
            q=args.get("q", "").strip()[:100],
            event=_stage("event", DATED_EVENTS),
            date_from=_date("from"),
            date_to=_date("to"),
            reached=_stage("reached"),
        )

    def to_args(self) -> dict[str, Any]:
        """The query arguments that :meth:`from_args` reads back into these filters."""
        args: dict[str, Any] = {
            "park": self.park_id,
            "chain": list(self.chain_ids) or None,
            "link": self.link_id,
            "stage": self.stage.value if self.stage else None,
            "tier": self.tier,
            "owner": self.owner_id,
            "stale": "1" if self.stale else None,
            "too_long": "1" if self.too_long else None,
            "q": self.q or None,
            "event": self.event.value if self.event else None,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "reached": self.reached.value if self.reached else None,
        }
        return {key: value for key, value in args.items() if value is not None}

    def to_query(self) -> str:
        """:meth:`to_args` as a query string, exactly as ``urlencode(args, doseq=True)`` writes
        it, sooner: a cockpit page links hundreds of numbers, and most values need no quoting.
        """
        parts = []
        for key, value in self.to_args().items():
            for item in value if isinstance(value, list) else (value,):
                text = str(item)
                parts.append(f"{key}={text if _UNQUOTED.issuperset(text) else quote_plus(text)}")
        return "&".join(parts)

    def but(self, **changes: Any) -> ListFilters:
        """A copy with some filters changed."""
        return replace(self, **changes)


def event_label(event: Stage) -> str:
    """How lists and charts name a dated event: "签约日期", "新增日期" …"""
    if event in MILESTONE_FIELDS:
        return str(FIELD_LABELS[MILESTONE_FIELDS[event]])
    return str(_l("新增日期"))


STAGE_VALUES = frozenset(s.value for s in Stage)
TRUE_WORDS = ("1", "true", "on")
# The dated events a list can be filtered by: the day a record was opened and its milestones.
DATED_EVENTS: tuple[Stage, ...] = (Stage.LEAD, *MILESTONE_FIELDS)


def is_stale(record: Any, today: dt.date | None = None) -> bool:
    """Return whether an active record has had no contact for STALE_DAYS days (in Python).
    *record*: a lead, a project or a row with their ``stage`` and ``last_contact_on``."""
    day = lifecycle.stale_on(record.stage, record.last_contact_on)
    return day is not None and day <= (today or today_local())


def stale_condition(model: type[Lead] | type[Project], today: dt.date) -> ColumnElement[bool]:
    """The SQL twin of :func:`is_stale`: the record's stored stale day has come."""
    return model.stale_on <= today


def amount_column(model: type[Lead] | type[Project]) -> Any:
    """The investment column that decides a record's tier."""
    return model.estimated_investment if model is Lead else model.total_investment


def filtered(
    user: User,
    model: type[Lead] | type[Project],
    filters: ListFilters,
    thresholds: Thresholds,
    today: dt.date | None = None,
    *,
    search_form: SearchForm = "any",
) -> Select:
    """Return the visible rows of *model* matching *filters* (*search_form*: see
    :func:`conditions`)."""
    stmt = visibility.visible(select(model), user, model)
    today = today or today_local()
    return stmt.where(
        *conditions(model, filters, thresholds, today, search_form=search_form, hinted=True)
    )


# A search that can match at most this many records is counted and paged by name and enterprise
# (search form "few"); one that may match more finds a page soonest by walking the list's order.
FEW_MATCHES = 500
#: How the search (``q``) is put to the database; see :func:`conditions`.
SearchForm = Literal["any", "walk", "few"]


def _matching_enterprises(q: str) -> Any:
    """The ids of the enterprises whose name contains *q* or whose credit code is *q*."""
    return union_all(
        search.named(Enterprise, q),
        select(Enterprise.id).where(Enterprise.credit_code == normalize_credit_code(q)),
    )


def _ways_to_match(model: type[Lead] | type[Project], q: str) -> Any:
    """The ids of the records of *model* whose name contains *q*, then those of the matching
    enterprises' records (a record matching both ways comes twice)."""
    return union_all(
        select(model.id).where(search.contains(model, q)),
        select(model.id).where(model.enterprise_id.in_(_matching_enterprises(q))),
    )


def search_word(session: Session, model: type[Lead] | type[Project], q: str) -> search.Word:
    """*q* with the pairs chosen to find it among the names of *model* and of enterprises (one
    statement at most), for a request that puts the search to the database more than once."""
    return search.Word.read(session, q, (model, Enterprise))


def search_is_rare(session: Session, model: type[Lead] | type[Project], q: str) -> bool:
    """Whether a search for *q* can match at most :data:`FEW_MATCHES` records of *model*.

    An upper bound read through the names' pairs and ``ix_lead_enterprise``: the records named
    with *q* and those of the matching enterprises, one row per way a record matches, whoever
    may see it, the reading stopped past :data:`FEW_MATCHES` (a cheap statement for a common
    word too). A word of one character has no pairs to read: it counts as common."""
    if not search.grams(q):
        return False
    ways = _ways_to_match(model, q).limit(FEW_MATCHES + 1)
    return (session.scalar(select(func.count()).select_from(ways.subquery())) or 0) <= FEW_MATCHES


@dataclass(frozen=True)
class ListReading:
    """How a list page reads its rows (:func:`list_reading`): *filters* with the search word's
    pairs chosen; the page's search form; the count's, or None for the page's own rows; and
    whether the search is a common word (counted up to the search's own limit)."""

    filters: ListFilters
    page_form: SearchForm = "any"
    count_form: SearchForm | None = None
    common_word: bool = False

    @property
    def few_by_ids(self) -> bool:
        """Whether a page of few matches is to be read by their ids (``paging.counted_rows``):
        not in the ``few`` form, which reads its rows by their ids already."""
        return self.page_form != "few"


def list_reading(
    session: Session, user: User, model: type[Lead] | type[Project], filters: ListFilters
) -> ListReading:
    """Choose how a list page of *model* matching *filters* is read, for *user*.

    Without a search, by its filters (and :func:`app.core.paging.keyset_page` reads a page of
    few matches by their ids). A rare word: through its matches (``few``), for the count and
    the page. A common word: its page by walking the list's order (``walk``); its count, when
    it is the only filter for a user who sees everything, as the database sees fit (``any``),
    else like its page, on the rows the other conditions select (a manager's parks, an
    officer's own records count as such): read from the word's side, SQLite counted a park's
    few matches of a common word in 200–350 ms."""
    if not filters.q:
        return ListReading(filters)
    filters = filters.but(q=search_word(session, model, filters.q))
    if search_is_rare(session, model, filters.q):
        return ListReading(filters, page_form="few")
    alone = filters.but(q="") == ListFilters() and visibility.sight(user) == ("everything",)
    return ListReading(filters, "walk", "any" if alone else None, common_word=True)


def conditions(
    model: type[Lead] | type[Project],
    filters: ListFilters,
    thresholds: Thresholds,
    today: dt.date,
    *,
    search_form: SearchForm = "any",
    hinted: bool = False,
) -> list[ColumnElement[bool]]:
    """The SQL conditions of *filters*, one per filter that is set (all must hold).

    *hinted*: conditions of a ``WHERE`` (the lists'), with :data:`COMMON_FILTERS` told to
    SQLite's planner. Not in an aggregate's ``FILTER`` (the statistics'), where SQLite calls
    ``likelihood()`` on every row: 10% slower, for no plan.

    The search (``q``) matches the record's name or its enterprise's name or credit code (names
    through their pairs, :mod:`app.core.search`), in one of three forms that select the same
    records (*search_form*):

    - ``any``: an OR, read as the database sees fit: a common word's count, other readers;
    - ``walk``: the same OR with its ids out of the indexes' reach, so that a page of a common
      word walks the list's order testing each record (through the indexes, a planner would
      read every match, 14,000 for a two-character word, and sort them for a page of 25);
    - ``few``: the ids of the records whose name matches united with those of the matching
      enterprises' records: a rare word's count and page (:func:`search_is_rare`), which a
      walk would test against every record before giving up."""
    found: list[ColumnElement[bool]] = []
    told = _hinted if hinted else _untold
    if filters.park_id:
        found.append(model.park_id == filters.park_id)
    if filters.link_id:
        found.append(model.chain_link_id == filters.link_id)
    elif filters.chain_ids:
        found.append(chain_condition(model, filters.chain_ids))
    if filters.stage:
        found.append(model.stage == filters.stage)
    if filters.tier:
        found.append(
            told(f"tier={filters.tier}", thresholds.where(amount_column(model), filters.tier))
        )
    if filters.owner_id:
        found.append(model.owner_id == filters.owner_id)
    if filters.stale:
        found.append(told("stale", stale_condition(model, today)))
    if filters.too_long:
        found.append(told("too_long", too_long_condition(model, today)))
    if filters.event and (filters.date_from or filters.date_to):
        found.append(event_condition(model, filters.event, filters.date_from, filters.date_to))
    if filters.reached:
        found.append(reached_condition(model, filters.reached))
    if filters.q:
        if search_form == "few":
            found.append(model.id.in_(_ways_to_match(model, filters.q)))
        else:
            # "+ 0": an expression no index answers, so the OR is tested row by row.
            walk = search_form == "walk"
            found.append(
                or_(
                    search.contains(model, filters.q, key=model.id + 0 if walk else None),
                    (model.enterprise_id + 0 if walk else model.enterprise_id).in_(
                        _matching_enterprises(filters.q)
                    ),
                )
            )
    return found


#: The list filters that most of a district's records pass, with the share told to SQLite's
#: planner (:class:`app.core.sqlite.Likely`). SQLite keeps no histograms and guesses a quarter
#: for any range, and then reads these ranges through their index, a table lookup for each of
#: tens of thousands of rows, where the other filters narrow far more and a plain scan costs a
#: fraction (an old date range with 久未联系: 63 ms through the index, 14 ms scanned). The
#: office courts 亿元以上 projects, most of its pipeline is above the 1亿 line (in the generated
#: district 72%), and most records of a few years' pipeline are 久未联系 or 超期 (57% and 66%).
#: The 重大项目 and 大项目 lines keep SQLite's guess: their ranges are narrow enough to read.
COMMON_FILTERS = {"tier=yi": 0.7, "stale": 0.5, "too_long": 0.5}


def _hinted(name: str, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    share = COMMON_FILTERS.get(name)
    return condition if share is None else Likely(condition, share)


def _untold(_name: str, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return condition


def chain_condition(
    model: type[Lead] | type[Project], chain_ids: tuple[int, ...]
) -> ColumnElement[bool]:
    """Records tagged with a link of one of the chains."""
    return model.chain_link_id.in_(select(ChainLink.id).where(ChainLink.chain_id.in_(chain_ids)))


def subject_column(model: type[Lead] | type[Project]) -> Any:
    """The column of the stage history that points at a record of *model*."""
    return StageChange.lead_id if model is Lead else StageChange.project_id


def in_range(column: Any, start: dt.date | None, end: dt.date | None) -> ColumnElement[bool]:
    """``start <= column <= end``, either bound optional (both inclusive, as the lists show)."""
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column <= end)
    return and_(*conditions) if conditions else column.is_not(None)


def event_condition(
    model: type[Lead] | type[Project],
    event: Stage,
    start: dt.date | None,
    end: dt.date | None,
) -> ColumnElement[bool]:
    """Records whose *event* happened between *start* and *end* (inclusive): a milestone's date,
    or for 线索 the day the record was opened (its stored ``opened_on``)."""
    field = "opened_on" if event is Stage.LEAD else MILESTONE_FIELDS[event]
    return in_range(getattr(model, field), start, end)


def reached_stages(stage: Stage) -> tuple[Stage, ...]:
    """The stages whose entry shows a record got as far as *stage*: itself and, on the main
    line, every later one (a record that entered 签约 got past 洽谈, whatever its rows say)."""
    return MAIN_LINE[MAIN_LINE.index(stage) :] if stage in MAIN_LINE else (stage,)


def reached_condition(model: type[Lead] | type[Project], stage: Stage) -> ColumnElement[bool]:
    """Records whose history shows they got as far as *stage* (see :func:`reached_stages`): on
    the main line, the stored furthest stage; a side exit, by the history itself."""
    if stage in MAIN_LINE:
        return model.furthest_stage.in_(reached_stages(stage))
    return (
        select(StageChange.id)
        .where(subject_column(model) == model.id, StageChange.to_stage.in_(reached_stages(stage)))
        .correlate(model)
        .exists()
    )


def list_order(model: type[Lead] | type[Project]) -> tuple[Any, ...]:
    """The lists' order, which their pages and exports share: last updated first."""
    return (model.updated_at.desc(), model.id.desc())


def list_page_stmt(stmt: Select, model: type[Lead] | type[Project]) -> Select:
    """Order a filtered statement and load what each row of a list shows, in one query: the
    records with their enterprise and owner.

    The park, chain link and chain of each row are reference rows, a few dozen in all: the list
    pages read them first for their filters (``list_parks``, ``list_chains``), the session then
    holds them and ``record.park`` costs no query. Joining them here as well made PostgreSQL
    plan a six-table join for every page (about 3 ms of planning for 1 ms of execution).
    Callers that have not read them add :func:`reference_options`."""
    return stmt.options(
        joinedload(model.enterprise, innerjoin=True), joinedload(model.owner, innerjoin=True)
    ).order_by(*list_order(model))


def reference_options(model: type[Lead] | type[Project]) -> tuple[Any, ...]:
    """Load each record's park, chain link and chain with it (joined)."""
    return (joinedload(model.park), joinedload(model.chain_link).joinedload(ChainLink.chain))


def projects_per_tier(
    session: Session, thresholds: Thresholds, tiers: tuple[str, ...] = TIERS
) -> dict[str, int]:
    """Count all projects at or above each tier, in one query."""
    row = session.execute(
        select(
            *(
                func.count().filter(thresholds.where(Project.total_investment, tier))
                for tier in tiers
            )
        ).select_from(Project)
    ).one()
    return dict(zip(tiers, row, strict=True))


# --- my work --------------------------------------------------------------------------------


@dataclass
class MyWork:
    """An owner's to-do list: his active records, follow-ups due and overdue, stale records."""

    today: dt.date
    week_end: dt.date
    active_leads: list[Lead] = field(default_factory=list)
    due_this_week: list[Lead | Project] = field(default_factory=list)
    overdue: list[Lead | Project] = field(default_factory=list)
    stale: list[Lead | Project] = field(default_factory=list)
    active_count: int = 0


def _my_row_options(model: type[Lead] | type[Project]) -> tuple[Any, ...]:
    """What a row of "my work" shows besides the record (the owner is the user himself)."""
    return (
        joinedload(model.enterprise),
        joinedload(model.park),
        joinedload(model.chain_link).joinedload(ChainLink.chain),
    )


def my_work(session: Session, user: User, limit: int = 100) -> MyWork:
    """Build the "my work" page of *user* from his own leads and projects."""
    today = today_local()
    _, sunday = week_bounds(today)
    work = MyWork(today=today, week_end=sunday)
    for model in (Lead, Project):
        mine = (
            select(model)
            .where(model.owner_id == user.id, model.stage.in_(ACTIVE | {Stage.ON_HOLD}))
            .options(*_my_row_options(model))
        )
        due = session.scalars(
            mine.where(model.next_step_due >= today, model.next_step_due <= sunday)
            .order_by(model.next_step_due)
            .limit(limit)
        ).all()
        overdue = session.scalars(
            mine.where(model.next_step_due < today).order_by(model.next_step_due).limit(limit)
        ).all()
        stale = session.scalars(
            mine.where(stale_condition(model, today))
            .order_by(model.last_contact_on.asc().nulls_first())
            .limit(limit)
        ).all()
        work.due_this_week += due
        work.overdue += overdue
        work.stale += stale
    work.due_this_week.sort(key=lambda r: r.next_step_due)
    work.overdue.sort(key=lambda r: r.next_step_due)
    active = select(Lead).where(Lead.owner_id == user.id, Lead.stage.in_(ACTIVE))
    work.active_count = session.scalar(select(func.count()).select_from(active.subquery())) or 0
    work.active_leads = list(
        session.scalars(
            active.options(*_my_row_options(Lead)).order_by(Lead.updated_at.desc()).limit(limit)
        )
    )
    return work


# --- the park board -------------------------------------------------------------------------


# Cards a column of the park board shows: the largest records of the stage. The column's count
# links to the list of all of them; a board is the summary a manager reads at a glance.
BOARD_CARDS = 10


@dataclass(frozen=True, slots=True)
class BoardCard:
    """What a card of the park board shows of a record, read as a plain row."""

    id: int
    display_name: str
    amount: Decimal | None
    stage: Stage
    stage_since: dt.date
    last_contact_on: dt.date | None
    enterprise_name: str
    owner_name: str
    # Read on the day the board is shown: is_stale() and too_long_in_stage().
    stale: bool = False
    too_long: bool = False
    days_in_stage: int = 0


@dataclass
class BoardColumn:
    stage: Stage
    count: int = 0
    total: Decimal = Decimal(0)
    cards: list[BoardCard] = field(default_factory=list)


def too_long_in_stage(record: Any, today: dt.date) -> bool:
    """Return whether the record has sat in its stage longer than the stage allows. *record*: a
    lead, a project or a row with their ``stage`` and ``stage_since``."""
    day = lifecycle.too_long_on(record.stage, record.stage_since)
    return day is not None and day <= today


def too_long_condition(model: type[Lead] | type[Project], today: dt.date) -> ColumnElement[bool]:
    """The SQL twin of :func:`too_long_in_stage`: the record's stored too-long day has come."""
    return model.too_long_on <= today


def largest_ids(
    model: type[Lead] | type[Project], groups: list[Select], limit: int
) -> CompoundSelect:
    """The ids of each group's *limit* largest records (largest amount first, newest first
    among equal amounts, then the newest without an amount), as one ``UNION ALL``.

    *groups* are ``select(model.id)`` statements, one per group (a board's stage, a chain
    link's records). Each group's known amounts and its records without one are each a short
    read of an index ending in (amount, id), in its own order: an ``amount DESC NULLS LAST``
    order has no index on SQLite. Callers order the records they fetch by ``amount DESC NULLS
    LAST, id DESC`` and keep *limit* per group.

    *limit* is written into the SQL, not bound: with a bound ``LIMIT`` PostgreSQL's one plan for
    every value (``SAME_PLAN``) would assume a tenth of the table is read and never be chosen.
    """
    amount = amount_column(model)
    size = literal_column(str(int(limit)))
    parts = []
    for group in groups:
        known = group.where(amount.is_not(None)).order_by(amount.desc(), model.id.desc())
        unknown = group.where(amount.is_(None)).order_by(model.id.desc())
        for part in (known, unknown):
            parts.append(select(part.limit(size).subquery().c.id))
    return union_all(*parts)


def board(
    session: Session,
    user: User,
    model: type[Lead] | type[Project],
    park_id: int | None,
    cards_per_column: int = BOARD_CARDS,
    today: dt.date | None = None,
) -> list[BoardColumn]:
    """Return one column per stage with its count, 亿元 sum and the largest cards, flagged as
    of *today* (by default the local date)."""
    today = today or today_local()
    amount = amount_column(model)
    shown = visibility.condition(user, model)
    if park_id:
        shown = and_(shown, model.park_id == park_id)
    columns = {stage: BoardColumn(stage) for stage in ALL_STAGES}
    totals = session.execute(
        select(model.stage, func.count(), func.coalesce(func.sum(amount), 0))
        .where(shown)
        .group_by(model.stage)
    )
    for stage, count, total in totals:
        column = columns[stage]
        column.count = count
        column.total = total or Decimal(0)
    # The largest cards of each column, in one statement (the index on park, stage, amount, id).
    largest = largest_ids(
        model,
        [select(model.id).where(shown, model.stage == stage) for stage in ALL_STAGES],
        cards_per_column,
    )
    name = model.title if model is Lead else model.name
    cards = session.execute(
        select(
            model.id,
            name,
            amount,
            model.stage,
            model.stage_since,
            model.last_contact_on,
            Enterprise.name,
            User.full_name,
        )
        .join(Enterprise, Enterprise.id == model.enterprise_id)
        .join(User, User.id == model.owner_id)
        .where(model.id.in_(largest))
        .order_by(amount.desc().nulls_last(), model.id.desc())
        # Short reads of the index in its own order, whichever park: one plan serves all, and
        # planning the union of every stage's two reads took longer than running it.
        .execution_options(**SAME_PLAN)
    )
    for row in cards:
        column = columns[row.stage]
        if len(column.cards) < cards_per_column:
            column.cards.append(
                BoardCard(
                    *row,
                    stale=is_stale(row, today),
                    too_long=too_long_in_stage(row, today),
                    days_in_stage=(today - row.stage_since).days,
                )
            )
    return list(columns.values())


# --- detail pages ---------------------------------------------------------------------------


@dataclass
class TimelineEntry:
    day: dt.date
    at: dt.datetime
    kind: str  # "contact" or "stage"
    # A plain row: a contact (CONTACT_COLUMNS) or a stage change (STAGE_COLUMNS).
    item: Any


# Contacts a record's page shows at first; older ones on request (a record followed for years
# gathers hundreds).
TIMELINE_SHOWN = 50


@dataclass
class Timeline:
    entries: list[TimelineEntry]
    # True when older contacts exist than the entries show.
    more: bool = False


_RECORDER = aliased(User)
_CONFIRMER = aliased(User)
# What the timeline shows of a contact and of a stage change, with the people's names.
CONTACT_COLUMNS = (
    ContactLog.id,
    ContactLog.contact_on,
    ContactLog.created_at,
    ContactLog.contact_type,
    ContactLog.participants,
    ContactLog.summary,
    ContactLog.next_step,
    ContactLog.next_step_due,
    ContactLog.created_by_id,
    ContactLog.version,
    ContactLog.updated_at,
    User.full_name.label("author"),
    Project.name.label("project_name"),
)
STAGE_COLUMNS = (
    StageChange.id,
    StageChange.effective_on,
    StageChange.recorded_at,
    StageChange.from_stage,
    StageChange.to_stage,
    StageChange.reason,
    StageChange.note,
    StageChange.recorded_by_id,
    StageChange.confirmed_by_id,
    _RECORDER.full_name.label("recorded_by_name"),
    _CONFIRMER.full_name.label("confirmed_by_name"),
)


def timeline(
    session: Session, record: Lead | Project, limit: int | None = TIMELINE_SHOWN
) -> Timeline:
    """Contacts and stage changes of a record, newest first (two queries, plain rows): the
    *limit* latest contacts (all with None) and every stage change from the oldest contact
    shown on."""
    if isinstance(record, Lead):
        contact_filter = ContactLog.lead_id == record.id
        stage_filter = StageChange.lead_id == record.id
    else:
        contact_filter = ContactLog.project_id == record.id
        stage_filter = StageChange.project_id == record.id
    stmt = (
        select(*CONTACT_COLUMNS)
        .outerjoin(User, User.id == ContactLog.created_by_id)
        .outerjoin(Project, Project.id == ContactLog.project_id)
        .where(contact_filter)
        .order_by(ContactLog.contact_on.desc(), ContactLog.created_at.desc(), ContactLog.id.desc())
        .execution_options(**SAME_PLAN)
    )
    if limit is not None:
        stmt = stmt.limit(limit + 1)
    contacts = session.execute(stmt).all()
    more = limit is not None and len(contacts) > limit
    contacts = contacts[:limit] if more else contacts
    changes = session.execute(
        select(*STAGE_COLUMNS)
        .outerjoin(_RECORDER, _RECORDER.id == StageChange.recorded_by_id)
        .outerjoin(_CONFIRMER, _CONFIRMER.id == StageChange.confirmed_by_id)
        .where(stage_filter)
        .execution_options(**SAME_PLAN)
    ).all()
    entries = [TimelineEntry(c.contact_on, c.created_at, "contact", c) for c in contacts]
    entries += [TimelineEntry(s.effective_on, s.recorded_at, "stage", s) for s in changes]
    entries.sort(key=lambda e: (e.day, e.at, e.kind == "stage"), reverse=True)
    if more:
        # Nothing older than the oldest contact shown: the hidden contacts lie among them.
        oldest = contacts[-1]
        entries = [e for e in entries if (e.day, e.at) >= (oldest.contact_on, oldest.created_at)]
    return Timeline(entries, more)


@dataclass(frozen=True)
class HistoryLine:
    """One change in a record's history, its values as people read them (names and labels, not
    the ids and codes the audit log stores). *subject* is "record" for the record's own fields,
    "contact" for a correction or removal of one of its contacts."""

    at: dt.datetime
    source: str
    action: str
    field: str | None
    old_value: str | None
    new_value: str | None
    actor_name: str | None
    subject: str = "record"


#: Changes a record's page shows at first; all of them on request.
HISTORY_SHOWN = 100


@dataclass
class History:
    lines: list[HistoryLine]
    # True when older changes exist than the lines show.
    more: bool = False


#: Audited fields that store a code: shown as the code's label.
_CODED_FIELDS: dict[str, type[Stage] | type[LeadSource] | type[ContactType]] = {
    "stage": Stage,
    "held_from": Stage,
    "furthest_stage": Stage,
    "source": LeadSource,
    "contact_type": ContactType,
}
#: Audited fields that store the id of another row: shown as that row's name (a chain link's
#: with its chain's).
_NAMED_FIELDS: dict[str, tuple[Any, Any, Any]] = {
    "park_id": (Park.id, Park.name, None),
    "owner_id": (User.id, User.full_name, None),
    "enterprise_id": (Enterprise.id, Enterprise.name, None),
    "chain_link_id": (ChainLink.id, ChainLink.name, Chain.name),
}


def _history_rows(session: Session, record: Any, limit: int | None) -> list[Any]:
    """The audit rows of *record* and of its contacts' corrections and removals, newest first,
    in one statement of three parts, each read through an index."""
    subject_column = ContactLog.lead_id if isinstance(record, Lead) else ContactLog.project_id

    def part(subject: str, *where: Any) -> Select:
        return (
            select(
                AuditLog.id,
                AuditLog.at,
                AuditLog.source,
                AuditLog.action,
                AuditLog.field,
                AuditLog.old_value,
                AuditLog.new_value,
                AuditLog.entity_id,
                User.full_name.label("actor_name"),
                literal_column(f"'{subject}'").label("subject"),
            )
            .outerjoin(User, AuditLog.actor_id == User.id)
            .where(*where)
        )

    contact = AuditLog.entity == ContactLog.__tablename__
    # A removed contact is found by the record id its removal logged (ix_audit_log_removed_*,
    # partial indexes whose conditions the query repeats as written).
    removed = select(AuditLog.entity_id).where(
        literal_column(f"entity = '{ContactLog.__tablename__}'"),
        literal_column("action = 'delete'"),
        literal_column(f"field = '{subject_column.key}'"),
        AuditLog.old_value == str(record.id),
    )
    parts = union_all(
        part(
            "record",
            AuditLog.entity == record.__tablename__,
            AuditLog.entity_id == record.id,
        ),
        part(
            "contact",
            contact,
            AuditLog.action == "update",
            AuditLog.entity_id.in_(select(ContactLog.id).where(subject_column == record.id)),
        ),
        part("contact", contact, AuditLog.action == "delete", AuditLog.entity_id.in_(removed)),
    ).subquery()
    stmt = select(parts).order_by(parts.c.at.desc(), parts.c.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return session.execute(stmt.execution_options(**SAME_PLAN)).all()


def audit_history(session: Session, record: Any, limit: int | None = HISTORY_SHOWN) -> History:
    """Return the changes of one record with the actor's name, newest first: its own fields'
    and its contacts' corrections and removals (a removal as one line, with what the contact
    said); the *limit* latest audit rows (all with None), and whether older ones exist. One
    statement, and one more for the names of the parks, owners, enterprises and chain links its
    changes name (none when there are none)."""
    rows = _history_rows(session, record, None if limit is None else limit + 1)
    more = limit is not None and len(rows) > limit
    rows = rows[:limit] if more else rows
    names = _names_in(session, rows)

    def shown(audited: str | None, value: str | None) -> str | None:
        if value is None or audited is None:
            return value
        if audited in _CODED_FIELDS:
            try:
                return _CODED_FIELDS[audited](value).label
            except ValueError:  # a code no longer in use
                return value
        return names.get((audited, value), value)

    # A removal logs a row without a field, then one per value the contact held.
    removed: dict[int, dict[str, str | None]] = {}
    for row in rows:
        if row.subject == "contact" and row.action == "delete" and row.field is not None:
            removed.setdefault(row.entity_id, {})[row.field] = shown(row.field, row.old_value)
    lines = []
    for row in rows:
        if row.subject == "contact" and row.action == "delete":
            if row.field is not None:
                continue
            held = removed.get(row.entity_id, {})
            said = " ".join(
                value
                for value in (held.get("contact_on"), held.get("contact_type"), held.get("summary"))
                if value
            )
            lines.append(
                HistoryLine(
                    row.at, row.source, "delete", None, said, None, row.actor_name, "contact"
                )
            )
            continue
        lines.append(
            HistoryLine(
                row.at,
                row.source,
                row.action,
                row.field,
                shown(row.field, row.old_value),
                shown(row.field, row.new_value),
                row.actor_name,
                row.subject,
            )
        )
    return History(lines, more)


def _names_in(session: Session, rows: Sequence[Any]) -> dict[tuple[str, str], str]:
    """(field, stored id) -> name, for the ids the rows' changes of :data:`_NAMED_FIELDS` hold;
    an id whose row is gone keeps no name."""
    wanted: dict[str, set[int]] = {}
    for row in rows:
        if row.field in _NAMED_FIELDS:
            for value in (row.old_value, row.new_value):
                if value is not None and value.isdigit():
                    wanted.setdefault(row.field, set()).add(int(value))
    if not wanted:
        return {}
    parts = []
    for audited, ids in wanted.items():
        key, name, chain = _NAMED_FIELDS[audited]
        stmt = select(literal(audited), key, name, chain if chain is not None else null())
        if chain is not None:
            stmt = stmt.join(Chain, ChainLink.chain_id == Chain.id)
        parts.append(stmt.where(key.in_(sorted(ids))))
    found = session.execute(union_all(*parts) if len(parts) > 1 else parts[0])
    return {
        (audited, str(key)): name if chain is None else link_name(chain, name)
        for audited, key, name, chain in found
    }


def proposals_for(session: Session, user: User, pending_only: bool = True) -> list[StageProposal]:
    """Return the stage proposals *user* may see, oldest first."""
    stmt = visibility.visible_proposals(select(StageProposal), user).options(
        joinedload(StageProposal.lead).joinedload(Lead.enterprise),
        joinedload(StageProposal.project).joinedload(Project.enterprise),
        joinedload(StageProposal.proposed_by),
    )
    if pending_only:
        stmt = stmt.where(StageProposal.status == "pending")
    return list(session.scalars(stmt.order_by(StageProposal.proposed_at).limit(200)))
