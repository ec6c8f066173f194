"""What one recipient's weekly digest says, by role (pure read, no request context needed).

- officer: follow-ups due in the week the digest is read and overdue ones, his records with no
  contact for 30 days or more, stage changes on his records in the week;
- park manager: for each of his parks new leads, stage changes (签约/开工/投产 highlighted),
  projects newly at or above an investment threshold, stalled records, planned milestones in the
  next 30 days, counts and 亿元 sums by stage;
- leader and admin: the same for every park, with a per-park summary, every big-tier project
  that moved, and progress against annual targets (a hook: targets do not exist yet).

Everything goes through :mod:`app.pipeline.visibility`, and the number of statements run for one
recipient does not depend on the amount of data: each section is one query over all visible
records, with its neighbours joined, grouped by park in Python. The sections read plain rows of
the columns a line shows (never ORM objects, whose loading cost several times the query).

Sharing within a batch. What a manager's, leader's or admin's digest shows depends on the
recipient only through his visibility scope: leaders and admins see every record, a manager the
records of his parks. When many digests are built in one go (the delivery run, ``flask digests
send --dry-run``), the caller passes one :class:`SharedFigures` to every
:func:`build_digest` call; the section queries, stage totals, park list and target progress of a
scope are then run once, for the first recipient of that scope, and reused for the others. The
memo key holds everything those figures depend on: the scope (leaders and admins alike, or a
manager's sorted park ids, and whether the user is active), the week, the reading day, the base
URL, the thresholds (read for every digest, so a change during a batch takes effect) and the
locale of the labels. Each digest is then assembled from the memo into objects of its own
(sections per park, totals, big moves, targets); the entries themselves are frozen and shared.

An officer sees only the records he owns (while active), so nothing of his is shared; but his
sections are read for many officers at once. The batch is told its recipients (any role), and
the first officer's digest of a week and reading day reads the sections of every announced
officer not read yet, one statement per section and model: the rows ranked per owner in the
section's order, SECTION_LIMIT + 1 kept for each (``row_number() OVER (PARTITION BY owner_id
...)``). Each officer's digest takes his rows (once: a second digest of him reads them again) and
assembles the same sections from them as a digest built alone, which reads the same rows with
one statement per section and model. A batch of 1,000 recipients thus runs a few hundred
statements, not eight per officer.

A batch is therefore a snapshot: a change to the records committed while it runs shows in the
digests of scopes (and officers) not yet read, not in those already read. Without a
``SharedFigures`` every digest is computed from scratch.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import get_locale
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    func,
    literal,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.core.audit import AuditLog
from app.core.db import Money
from app.core.i18n import gettext as _
from app.core.i18n import lazy_gettext as _l
from app.core.i18n import lazy_pgettext as _p
from app.core.money import format_yi, yuan_to_yi
from app.digests.weeks import IsoWeek
from app.enterprises.models import Enterprise
from app.parks.models import Park
from app.pipeline import visibility
from app.pipeline.flags import TIERS, Thresholds, load_thresholds
from app.pipeline.lifecycle import ACTIVE, ALL_STAGES, MAX_DAYS_IN_STAGE, STALE_DAYS, Stage
from app.pipeline.models import Lead, Project, StageChange
from app.pipeline.queries import (
    amount_column,
    is_stale,
    stale_condition,
    too_long_condition,
    too_long_in_stage,
)
from app.targets.services import describe, progress

# Rows fetched per section query; beyond this the section says it was cut.
SECTION_LIMIT = 200
# Officers whose sections one statement reads at most (the ids are bound one by one).
OFFICERS_PER_READ = 2000
# Planned milestones this many days ahead are announced.
MILESTONE_DAYS = 30
# Stage changes into these stages are what managers and leaders look for first.
HIGHLIGHT_STAGES = frozenset({Stage.SIGNED, Stage.CONSTRUCTION, Stage.PRODUCTION})
# (planned date column, reached date column, milestone name)
MILESTONES = (
    ("planned_signing_on", "signed_on", _l("签约")),
    ("planned_construction_on", "construction_on", _l("开工")),
    ("planned_production_on", "production_on", _l("投产")),
    ("planned_full_production_on", "full_production_on", _l("达产")),
)
KIND_LABELS = {"lead": _p("kind", "线索"), "project": _p("kind", "项目")}

# Section keys (the order in which a digest shows them).
OVERDUE = "overdue"
DUE = "due"
STALE = "stale"
CHANGES = "changes"
NEW_LEADS = "new_leads"
THRESHOLDS = "thresholds"
STALLED = "stalled"
MILESTONES_KEY = "milestones"
BIG_MOVES = "big_moves"

# Read in the recipient's language when the digest is rendered (lazy strings).
SECTION_TITLES = {
    OVERDUE: _l("已逾期的跟进"),
    DUE: _l("本周到期的跟进"),
    STALE: _l("超过%(n)d天未联系", n=STALE_DAYS),
    CHANGES: _l("上周阶段变化"),
    NEW_LEADS: _p("digest", "新增线索"),
    THRESHOLDS: _l("新达到投资门槛的项目"),
    STALLED: _l("停滞事项（长期未联系或阶段停留过久）"),
    MILESTONES_KEY: _l("未来%(n)d天计划节点", n=MILESTONE_DAYS),
    BIG_MOVES: _l("大项目进展"),
}


@dataclass(frozen=True)
class Entry:
    """One line of a digest: a lead or project, what happened to it, and its absolute link."""

    kind: str  # "lead" or "project"
    record_id: int
    name: str
    enterprise: str
    park_id: int
    park: str
    owner: str
    stage: str
    amount: Decimal | None
    url: str
    date: dt.date | None = None
    note: str = ""
    highlight: bool = False
    tag: str = ""

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


@dataclass
class Section:
    key: str
    title: str
    entries: list[Entry] = field(default_factory=list)
    # True when the query hit SECTION_LIMIT and more rows exist than are listed.
    truncated: bool = False

    def __bool__(self) -> bool:
        return bool(self.entries)


@dataclass
class StageTotal:
    """Counts and 亿元 sums of the leads and projects in one stage."""

    stage: Stage
    lead_count: int = 0
    lead_total: Decimal = Decimal(0)
    project_count: int = 0
    project_total: Decimal = Decimal(0)

    @property
    def label(self) -> str:
        return self.stage.label

    def add(self, other: StageTotal) -> None:
        self.lead_count += other.lead_count
        self.lead_total += other.lead_total
        self.project_count += other.project_count
        self.project_total += other.project_total


@dataclass
class ParkDigest:
    """One park's part of a manager's or leader's digest."""

    park_id: int
    name: str
    url: str
    sections: list[Section] = field(default_factory=list)
    totals: list[StageTotal] = field(default_factory=list)

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    @property
    def has_news(self) -> bool:
        return any(self.sections)

    @property
    def highlight_count(self) -> int:
        return sum(1 for e in self.section(CHANGES).entries if e.highlight)

    @property
    def project_total(self) -> Decimal:
        return sum((t.project_total for t in self.totals), Decimal(0))


@dataclass
class TargetProgress:
    """Progress against one annual target, as the digest shows it."""

    label: str
    target: Decimal
    actual: Decimal
    # An amount in 亿元, else a number of projects.
    in_yi: bool = False
    share: Decimal = Decimal(0)
    on_pace: bool = True

    @property
    def percent(self) -> str:
        return f"{(self.share * 100).quantize(Decimal('0.1'))}%"

    @property
    def figures(self) -> str:
        """ "4 / 16 个" or "68.00 / 1,500.00 亿元", in the current language."""
        if self.in_yi:
            return _(
                "%(actual)s / %(target)s 亿元",
                actual=format_yi(self.actual),
                target=format_yi(self.target),
            )
        return _("%(actual)d / %(target)d 个", actual=int(self.actual), target=int(self.target))


@dataclass
class Digest:
    """Everything one recipient's weekly digest shows."""

    user: User
    week: IsoWeek
    today: dt.date
    base_url: str
    role: Role
    # Sections not tied to one park (the officer's lists, the leader's big projects).
    sections: list[Section] = field(default_factory=list)
    # Managers: their parks; leaders and admins: every park with records or news.
    parks: list[ParkDigest] = field(default_factory=list)
    # Counts and sums by stage over everything the recipient sees (managers, leaders).
    totals: list[StageTotal] = field(default_factory=list)
    targets: list[TargetProgress] = field(default_factory=list)
    is_empty: bool = True

    @property
    def home_url(self) -> str:
        return f"{self.base_url}/my" if self.role is Role.OFFICER else f"{self.base_url}/board"

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)

    def all_entries(self) -> list[Entry]:
        """Every entry of the digest (top-level sections, then the parks')."""
        out = [e for s in self.sections for e in s.entries]
        out += [e for p in self.parks for s in p.sections for e in s.entries]
        return out


def _url(base_url: str, kind: str, record_id: int) -> str:
    """The absolute link to a record's page (built without a request context)."""
    return f"{base_url}/{'leads' if kind == 'lead' else 'projects'}/{record_id}"


def _stage_labels() -> dict[Stage, str]:
    """Every stage's label in the current locale, looked up once per digest or section rather
    than once per line."""
    return {stage: stage.label for stage in Stage}


def _entry(base_url: str, record: Any, labels: dict[Stage, str], **extra: Any) -> Entry:
    """The line of a record read by :func:`_lines` (a row, not an ORM object); *labels* from
    :func:`_stage_labels`."""
    return Entry(
        kind=record.kind,
        record_id=record.id,
        name=record.display_name,
        enterprise=record.enterprise_name,
        park_id=record.park_id,
        park=record.park_name,
        owner=record.owner_name,
        stage=labels[record.stage],
        amount=record.amount,
        url=_url(base_url, record.kind, record.id),
        **extra,
    )


def _limited(rows: list[Any]) -> tuple[list[Any], bool]:
    return rows[:SECTION_LIMIT], len(rows) > SECTION_LIMIT


# --- the queries (each one statement over all visible records) -------------------------------

# The sections read records as plain rows of the columns they show, not as ORM objects: loading
# a hundred leads with their enterprise, park and owner as objects costs several times the query
# itself, and an officer's digest is mostly that.


class _Amount(Money):
    """The investment of a line: :class:`~app.core.db.Money`'s ``Decimal`` in 亿元, converted
    once per distinct amount (a batch reads a hundred thousand lines, with few distinct sums)."""

    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else _yi(int(value))


_yi = functools.lru_cache(maxsize=1 << 14)(yuan_to_yi)
_AMOUNT = _Amount()


def _line_columns(model: type[Lead] | type[Project], *, officer: bool = False) -> list[Any]:
    """What a section reads of a record, under the names :func:`_entry` and the sections use.
    An officer's sections (*officer*) need neither the time in stage nor the source, creation
    and milestone dates of the overseers' sections: fewer columns to convert per row."""
    own: list[Any] = []
    if not officer:
        own.append(model.stage_since)
        if model is Lead:
            own += [Lead.source, Lead.created_at]
        else:
            own += [getattr(Project, c) for *columns, _ in MILESTONES for c in columns]
    name = Lead.title if model is Lead else Project.name
    return [
        literal(model.__tablename__).label("kind"),
        model.id,
        model.park_id,
        model.stage,
        model.last_contact_on,
        model.next_step,
        model.next_step_due,
        type_coerce(amount_column(model), _AMOUNT).label("amount"),
        Enterprise.name.label("enterprise_name"),
        Park.name.label("park_name"),
        User.full_name.label("owner_name"),
        name.label("display_name"),
        *own,
    ]


def _with_names(stmt: Select, model: type[Lead] | type[Project]) -> Select:
    """Join the record's enterprise, park and owner to *stmt*. Outer joins (every one exists),
    so that the database does not reorder them and start from all enterprises."""
    return (
        stmt.outerjoin(Enterprise, Enterprise.id == model.enterprise_id)
        .outerjoin(Park, Park.id == model.park_id)
        .outerjoin(User, User.id == model.owner_id)
    )


def _lines(user: User, model: type[Lead] | type[Project]) -> Select:
    """The visible records of *model*, as rows of :func:`_line_columns`."""
    stmt = _with_names(select(*_line_columns(model)).select_from(model), model)
    return visibility.visible(stmt, user, model)


def _in_week(week: IsoWeek) -> ColumnElement[bool]:
    """Stage changes effective in *week*, plus back-dated ones recorded in it."""
    return or_(
        StageChange.effective_on.between(week.monday, week.sunday),
        and_(
            StageChange.effective_on < week.monday,
            StageChange.recorded_at >= week.start_utc(),
            StageChange.recorded_at < week.end_utc(),
        ),
    )


# The reads of an officer's digest, in the order they run: each is one statement over one model.
# Follow-ups overdue and due in the week are read apart, each up to its own limit: read together,
# the due ones came after every overdue one and a busy officer's were left out unannounced.
OFFICER_READS: tuple[tuple[str, type[Lead] | type[Project]], ...] = (
    (OVERDUE, Lead),
    (OVERDUE, Project),
    (DUE, Lead),
    (DUE, Project),
    (STALE, Lead),
    (STALE, Project),
    (CHANGES, Lead),
    (CHANGES, Project),
)
# What the reads found, for one officer: the rows of each read, at most SECTION_LIMIT + 1.
OfficerRows = dict[tuple[str, type[Lead] | type[Project]], list[Any]]


@dataclass(frozen=True)
class _Read:
    """One read of an officer's digest, whoever the officer is: the columns of its rows, its FROM
    as a chain of (table, ON clause), the column that identifies a row, its conditions (what he
    may see aside) and its order."""

    columns: tuple[Any, ...]
    tables: tuple[tuple[Any, Any], ...]
    ident: Any
    where: tuple[Any, ...]
    order: tuple[Any, ...]

    def select(self, *columns: Any, start: tuple[Any, Any] | None = None) -> Select:
        """SELECT *columns* FROM the read's tables (joined to *start*, a (table, ON) pair, if
        given), without the names, the conditions or the order."""
        (first, _), *rest = self.tables
        if start is None:
            stmt = select(*columns).select_from(first)
        else:
            stmt = select(*columns).select_from(start[0]).join(first, start[1])
        for table, on in rest:
            stmt = stmt.join(table, on)
        return stmt


def _officer_read(
    read: str, model: type[Lead] | type[Project], week: IsoWeek, today: dt.date
) -> _Read:
    """Read *read* (follow-ups, stale records or stage changes) of an officer's digest over
    *model*: follow-ups due before the week the digest is read (overdue) or in it (due), records
    with no contact for STALE_DAYS days (from *today*), stage changes in *week*."""
    if read == CHANGES:
        fk = StageChange.lead_id if model is Lead else StageChange.project_id
        changes = (
            StageChange.from_stage,
            StageChange.to_stage,
            StageChange.reason,
            StageChange.effective_on,
        )
        return _Read(
            (*changes, *_line_columns(model, officer=True)),
            ((StageChange, None), (model, fk == model.id)),
            StageChange.id,
            (_in_week(week),),
            (StageChange.effective_on, StageChange.id),
        )
    if read in (OVERDUE, DUE):
        reading = week.next()
        when = (
            model.next_step_due < reading.monday
            if read == OVERDUE
            else model.next_step_due.between(reading.monday, reading.sunday)
        )
        where: tuple[Any, ...] = (model.stage.in_(ACTIVE | {Stage.ON_HOLD}), when)
        order: tuple[Any, ...] = (model.next_step_due, model.id)
    else:
        where = (stale_condition(model, today),)
        order = (model.last_contact_on.asc().nulls_first(), model.id)
    columns = tuple(_line_columns(model, officer=True))
    return _Read(columns, ((model, None),), model.id, where, order)


def _officer_rows(session: Session, user: User, week: IsoWeek, today: dt.date) -> OfficerRows:
    """What one officer's digest reads, one statement per read (the digest built alone)."""
    out: OfficerRows = {}
    for read, model in OFFICER_READS:
        spec = _officer_read(read, model, week, today)
        stmt = _with_names(spec.select(*spec.columns), model)
        out[read, model] = list(
            session.execute(
                stmt.where(visibility.condition(user, model), *spec.where)
                .order_by(*spec.order)
                .limit(SECTION_LIMIT + 1)
            )
        )
    return out


def _by_owner_and_rank(row: Any) -> tuple[int, int]:
    return row.owner_id, row.rank


def _officers_rows(
    session: Session, owner_ids: list[int], week: IsoWeek, today: dt.date
) -> dict[int, OfficerRows]:
    """What the digests of the officers *owner_ids* read, one statement per read for all of
    them: each read ranks its rows per owner in its own order and keeps SECTION_LIMIT + 1 of
    each. Ranked on the row ids alone, then joined to the columns and names of the rows kept.
    Only the records an officer owns: :func:`app.pipeline.visibility.condition` for an active
    officer (inactive ones see nothing and are never read)."""
    out: dict[int, OfficerRows] = {
        owner: {read: [] for read in OFFICER_READS} for owner in owner_ids
    }
    for read, model in OFFICER_READS:
        spec = _officer_read(read, model, week, today)
        ranked = (
            spec.select(
                spec.ident.label("row_id"),
                model.owner_id.label("owner_id"),
                func.row_number()
                .over(partition_by=model.owner_id, order_by=spec.order)
                .label("rank"),
            )
            .where(model.owner_id.in_(owner_ids), *spec.where)
            .subquery("ranked")
        )
        stmt = _with_names(
            spec.select(
                *spec.columns,
                ranked.c.owner_id,
                ranked.c.rank,
                start=(ranked, spec.ident == ranked.c.row_id),
            ),
            model,
        )
        # Plain rows of the session's connection (no ORM result to set up for 100,000 lines),
        # put in order here: sorting the wide rows spills to disk on PostgreSQL.
        rows = session.connection().execute(stmt.where(ranked.c.rank <= SECTION_LIMIT + 1))
        for row in sorted(rows, key=_by_owner_and_rank):
            out[row.owner_id][read, model].append(row)
    return out


def _follow_ups(
    rows: OfficerRows, base_url: str, labels: dict[Stage, str]
) -> tuple[Section, Section]:
    """Follow-ups due before the week the digest is read, and those due in it."""
    overdue, due = Section(OVERDUE, SECTION_TITLES[OVERDUE]), Section(DUE, SECTION_TITLES[DUE])
    for section in (overdue, due):
        for model in (Lead, Project):
            records, cut = _limited(rows[section.key, model])
            section.entries.extend(
                _entry(
                    base_url, record, labels, date=record.next_step_due, note=record.next_step or ""
                )
                for record in records
            )
            section.truncated |= cut
        section.entries.sort(key=lambda e: (e.date, e.kind, e.record_id))
    return overdue, due


def _stalled_entries(
    section: Section,
    rows: list[Any],
    today: dt.date,
    base_url: str,
    labels: dict[Stage, str],
    *,
    too_long: bool,
) -> None:
    """Add the lines of *rows* (at most SECTION_LIMIT + 1) to the stale or stalled *section*."""
    records, cut = _limited(rows)
    section.truncated |= cut
    for record in records:
        notes = []
        if is_stale(record, today):
            if record.last_contact_on is None:
                notes.append(_("从未联系"))
            else:
                notes.append(
                    _(
                        "%(days)d天未联系（上次 %(day)s）",
                        days=(today - record.last_contact_on).days,
                        day=record.last_contact_on.isoformat(),
                    )
                )
        if too_long and too_long_in_stage(record, today):
            notes.append(
                _(
                    "在%(stage)s阶段已%(days)d天（上限%(limit)d天）",
                    stage=labels[record.stage],
                    days=(today - record.stage_since).days,
                    limit=MAX_DAYS_IN_STAGE[record.stage],
                )
            )
        section.entries.append(
            _entry(base_url, record, labels, date=record.last_contact_on, note=_("；").join(notes))
        )


def _stalled(session: Session, user: User, today: dt.date, base_url: str) -> Section:
    """Records with no contact for STALE_DAYS days or too long in their stage (overseers)."""
    section = Section(STALLED, SECTION_TITLES[STALLED])
    labels = _stage_labels()
    for model in (Lead, Project):
        condition = or_(stale_condition(model, today), too_long_condition(model, today))
        rows = session.execute(
            _lines(user, model)
            .where(condition)
            .order_by(model.last_contact_on.asc().nulls_first(), model.id)
            .limit(SECTION_LIMIT + 1)
        ).all()
        _stalled_entries(section, list(rows), today, base_url, labels, too_long=True)
    return section


def _stale(rows: OfficerRows, today: dt.date, base_url: str, labels: dict[Stage, str]) -> Section:
    """An officer's records with no contact for STALE_DAYS days."""
    section = Section(STALE, SECTION_TITLES[STALE])
    for model in (Lead, Project):
        _stalled_entries(section, rows[STALE, model], today, base_url, labels, too_long=False)
    return section


def _change_entries(
    section: Section, rows: list[Any], base_url: str, labels: dict[Stage, str]
) -> None:
    """Add the lines of the stage changes *rows* (at most SECTION_LIMIT + 1) to *section*."""
    records, cut = _limited(rows)
    section.truncated |= cut
    for row in records:
        before = labels[row.from_stage] if row.from_stage else _("新建")
        note = f"{before} → {labels[row.to_stage]}"
        if row.reason:
            note += f"（{row.reason}）"
        section.entries.append(
            _entry(
                base_url,
                row,
                labels,
                date=row.effective_on,
                note=note,
                highlight=row.to_stage in HIGHLIGHT_STAGES,
                tag=labels[row.to_stage],
            )
        )


def _sort_changes(section: Section) -> Section:
    section.entries.sort(key=lambda e: (not e.highlight, e.date, e.kind, e.record_id))
    return section


def _officer_changes(rows: OfficerRows, base_url: str, labels: dict[Stage, str]) -> Section:
    """Stage changes on an officer's records in the week."""
    section = Section(CHANGES, SECTION_TITLES[CHANGES])
    for model in (Lead, Project):
        _change_entries(section, rows[CHANGES, model], base_url, labels)
    return _sort_changes(section)


def _stage_changes(session: Session, user: User, week: IsoWeek, base_url: str) -> Section:
    """Stage changes effective in the week, plus back-dated ones recorded in it (overseers)."""
    section = Section(CHANGES, SECTION_TITLES[CHANGES])
    labels = _stage_labels()
    # For managers, leaders and admins the changes of the week (:func:`_in_week`) are read as a
    # list of ids, from the two indexes (effective day, recording time). With the plain
    # condition PostgreSQL walks the whole history in effective_on order to serve the LIMIT,
    # filtering out every older change: always when every record is visible, and for a park
    # once psycopg has prepared the statement and the server uses its generic plan (0.3 to 1.5 s
    # instead of 30 ms on 600,000 changes). An officer's few records are the better start: for
    # officers (:func:`_officer_read`) the plain condition.
    in_week_ids = union_all(
        select(StageChange.id).where(StageChange.effective_on.between(week.monday, week.sunday)),
        select(StageChange.id).where(
            StageChange.effective_on < week.monday,
            StageChange.recorded_at >= week.start_utc(),
            StageChange.recorded_at < week.end_utc(),
        ),
    )
    for model, fk in ((Lead, StageChange.lead_id), (Project, StageChange.project_id)):
        changes = select(
            StageChange.from_stage,
            StageChange.to_stage,
            StageChange.reason,
            StageChange.effective_on,
            *_line_columns(model),
        ).select_from(StageChange)
        rows = session.execute(
            _with_names(changes.join(model, fk == model.id), model)
            .where(visibility.condition(user, model), StageChange.id.in_(in_week_ids))
            .order_by(StageChange.effective_on, StageChange.id)
            .limit(SECTION_LIMIT + 1)
        ).all()
        _change_entries(section, list(rows), base_url, labels)
    return _sort_changes(section)


def _new_leads(session: Session, user: User, week: IsoWeek, base_url: str) -> Section:
    """Leads created in the week, or whose first stage (线索) is dated in it."""
    section = Section(NEW_LEADS, SECTION_TITLES[NEW_LEADS])
    labels = _stage_labels()
    rows, section.truncated = _limited(
        session.execute(
            _lines(user, Lead)
            .where(
                or_(
                    and_(Lead.created_at >= week.start_utc(), Lead.created_at < week.end_utc()),
                    Lead.opened_on.between(week.monday, week.sunday),
                )
            )
            .order_by(Lead.created_at, Lead.id)
            .limit(SECTION_LIMIT + 1)
        ).all()
    )
    for lead in rows:
        created = lead.created_at.astimezone(week.start_utc().tzinfo).date()
        section.entries.append(
            _entry(
                base_url,
                lead,
                labels,
                date=created,
                note=_("来源：%(source)s", source=lead.source.label),
            )
        )
    return section


def _decimal(text: str | None) -> Decimal | None:
    if text is None or text == "":
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _crossed_tier(
    thresholds: Thresholds, before: Decimal | None, after: Decimal | None
) -> str | None:
    """The highest tier *after* is at or above while *before* was below it (None if none)."""
    if after is None:
        return None
    for tier in TIERS:  # highest first
        floor = thresholds.floor(tier)
        if after >= floor and (before is None or before < floor):
            return tier
    return None


def _threshold_crossings(
    session: Session, user: User, week: IsoWeek, thresholds: Thresholds, base_url: str
) -> Section:
    """Projects that reached a tier in the week, read from the audit log.

    A project counts when its total investment at the end of the week is at or above a tier and
    was below it at the start of the week (or the project was created in the week). The value at
    the start is the old value of the first total_investment change in or after the week; the
    value at the end is the old value of the first change after the week, else the current one.
    """
    section = Section(THRESHOLDS, SECTION_TITLES[THRESHOLDS])
    labels = _stage_labels()
    start, end = week.start_utc(), week.end_utc()
    logs_and_projects = select(AuditLog, *_line_columns(Project)).join(
        Project, and_(AuditLog.entity == Project.__tablename__, AuditLog.entity_id == Project.id)
    )
    rows = session.execute(
        _with_names(logs_and_projects, Project)
        .where(
            visibility.condition(user, Project),
            or_(
                and_(AuditLog.action == "create", AuditLog.at >= start, AuditLog.at < end),
                and_(
                    AuditLog.action == "update",
                    AuditLog.field == "total_investment",
                    AuditLog.at >= start,
                ),
            ),
        )
        .order_by(AuditLog.at, AuditLog.id)
    ).all()
    history: dict[int, list[AuditLog]] = defaultdict(list)
    projects: dict[int, Any] = {}
    for project in rows:
        history[project.id].append(project.AuditLog)
        projects[project.id] = project
    for project_id, logs in history.items():
        project = projects[project_id]
        created = any(log.action == "create" for log in logs)
        updates = [log for log in logs if log.action == "update"]
        in_week = [log for log in updates if log.at < end]
        if not created and not in_week:
            continue
        before = None if created else _decimal(in_week[0].old_value)
        later = [log for log in updates if log.at >= end]
        after = _decimal(later[0].old_value) if later else project.amount  # total investment
        tier = _crossed_tier(thresholds, before, after)
        if tier is None:
            continue
        last = in_week[-1].at if in_week else next(log.at for log in logs if log.action == "create")
        note = (
            _("新建项目，总投资 %(amount)s 亿元", amount=format_yi(after))
            if before is None
            else _(
                "总投资 %(before)s → %(after)s 亿元",
                before=format_yi(before),
                after=format_yi(after),
            )
        )
        section.entries.append(
            _entry(
                base_url,
                project,
                labels,
                date=last.astimezone(start.tzinfo).date(),
                note=note,
                tag=thresholds.label(tier),
                highlight=tier == "big",
            )
        )
        if len(section.entries) >= SECTION_LIMIT:
            section.truncated = True
            break
    section.entries.sort(key=lambda e: (not e.highlight, -(e.amount or 0), e.record_id))
    return section


def _milestones(session: Session, user: User, today: dt.date, base_url: str) -> Section:
    """Planned milestones in the next MILESTONE_DAYS days that are not reached yet."""
    section = Section(MILESTONES_KEY, SECTION_TITLES[MILESTONES_KEY])
    labels = _stage_labels()
    horizon = today + dt.timedelta(days=MILESTONE_DAYS)
    pending = [
        and_(getattr(Project, planned).between(today, horizon), getattr(Project, reached).is_(None))
        for planned, reached, _ in MILESTONES
    ]
    rows, section.truncated = _limited(
        session.execute(
            _lines(user, Project)
            .where(Project.stage != Stage.DROPPED, or_(*pending))
            .order_by(Project.id)
            .limit(SECTION_LIMIT + 1)
        ).all()
    )
    for project in rows:
        for planned, reached, name in MILESTONES:
            day = getattr(project, planned)
            if day is not None and today <= day <= horizon and getattr(project, reached) is None:
                section.entries.append(
                    _entry(
                        base_url,
                        project,
                        labels,
                        date=day,
                        note=_("计划%(name)s", name=name),
                        tag=str(name),
                    )
                )
    section.entries.sort(key=lambda e: (e.date, e.record_id))
    return section


def _stage_totals(session: Session, user: User) -> dict[int, dict[Stage, StageTotal]]:
    """Counts and 亿元 sums by park and stage for leads and projects, in one GROUP BY query."""

    def grouped(model: type[Lead] | type[Project], kind: str) -> Any:
        return (
            select(
                literal(kind).label("kind"),
                model.park_id.label("park_id"),
                model.stage.label("stage"),
                func.count().label("n"),
                func.sum(amount_column(model)).label("total"),
            )
            .where(visibility.condition(user, model))
            .group_by(model.park_id, model.stage)
        )

    out: dict[int, dict[Stage, StageTotal]] = defaultdict(
        lambda: {stage: StageTotal(stage) for stage in ALL_STAGES}
    )
    for kind, park_id, stage, count, total in session.execute(
        union_all(grouped(Lead, "lead"), grouped(Project, "project"))
    ):
        row = out[park_id][Stage(stage)]
        if kind == "lead":
            row.lead_count, row.lead_total = count, _as_yi(total)
        else:
            row.project_count, row.project_total = count, _as_yi(total)
    return out


def _as_yi(total: Any) -> Decimal:
    if total is None:
        return Decimal(0)
    if isinstance(total, Decimal):
        return total
    return Decimal(total)


def annual_target_progress(
    session: Session, user: User, week: IsoWeek, thresholds: Thresholds
) -> list[TargetProgress]:
    """Progress against the annual targets *user* follows, as of the end of *week*."""
    end = week.monday + dt.timedelta(days=6)
    rows = progress(session, user, end.year, thresholds, end)
    return [
        TargetProgress(
            label=describe(row.target, thresholds),
            target=row.goal,
            actual=row.actual,
            in_yi=row.target.metric.is_amount,
            share=row.share,
            on_pace=row.on_pace,
        )
        for row in rows
    ]


# --- assembling a digest ---------------------------------------------------------------------


def _split_by_park(sections: list[Section], parks: list[ParkDigest]) -> None:
    by_id = {p.park_id: p for p in parks}
    for section in sections:
        for park in parks:
            park.sections.append(Section(section.key, section.title, truncated=section.truncated))
        for entry in section.entries:
            park = by_id.get(entry.park_id)
            if park is not None:
                park.sections[-1].entries.append(entry)


def _officer(session: Session, digest: Digest, shared: SharedFigures | None) -> None:
    user, week, today, base = digest.user, digest.week, digest.today, digest.base_url
    if shared is None:
        rows = _officer_rows(session, user, week, today)
    elif not (user.is_authenticated and user.is_active):
        rows = {read: [] for read in OFFICER_READS}  # he sees nothing (visibility)
    else:
        rows = shared._officer(session, user.id, week, today)
    labels = _stage_labels()
    overdue, due = _follow_ups(rows, base, labels)
    digest.sections = [
        overdue,
        due,
        _stale(rows, today, base, labels),
        _officer_changes(rows, base, labels),
    ]
    digest.is_empty = not any(digest.sections)


@dataclass(frozen=True)
class _ScopeFigures:
    """What an overseer's digest shows that depends only on what he sees, before it is split by
    park. Read only: every digest assembles objects of its own from it (the entries, frozen, are
    the only thing digests share)."""

    # New leads, stage changes, threshold crossings, stalled records, milestones.
    sections: tuple[Section, ...]
    # Per park id, the stage totals (every stage, in ALL_STAGES order); parks without records
    # are missing.
    totals: dict[int, tuple[StageTotal, ...]]
    # Every park as (id, name, active), in board order (leaders and admins; managers: empty).
    parks: tuple[tuple[int, str, bool], ...]
    targets: tuple[TargetProgress, ...]


@dataclass
class _OfficerBatch:
    """The officers' rows of one week and reading day: whose were read, and those not yet
    handed to a digest."""

    read: set[int] = field(default_factory=set)
    rows: dict[int, OfficerRows] = field(default_factory=dict)


class SharedFigures:
    """The figures of a batch of digests that do not depend on the individual recipient.

    Pass one instance as ``shared`` to every :func:`build_digest` of a batch: the sections,
    stage totals, parks and target progress of each overseer scope (leaders and admins; each
    set of a manager's parks) are computed for the first recipient of the scope and reused for
    the others. Officers' sections are read for many officers at once: tell the batch its
    recipients (*recipients*, or :meth:`expect` as they become known) and the first officer's
    digest reads those of every announced officer not read yet, up to OFFICERS_PER_READ, one
    statement per section and model. An officer nobody announced is read with those left. See
    the module docstring for the key and what a batch shares.
    """

    def __init__(self, recipients: Iterable[int] = ()) -> None:
        self._figures: dict[tuple[Any, ...], _ScopeFigures] = {}
        # Officers: the ids announced (any role), for any week (None) or for one week; and per
        # (week, reading day) whose rows were read and those not handed out yet.
        self._expected: dict[IsoWeek | None, set[int]] = {None: set(recipients)}
        self._officers: dict[tuple[IsoWeek, dt.date], _OfficerBatch] = {}

    def __len__(self) -> int:
        """How many overseer scopes were computed so far."""
        return len(self._figures)

    def expect(self, user_ids: Iterable[int], week: IsoWeek | None = None) -> None:
        """Announce recipients whose digests the batch will build (of *week*, or of any week).
        Ids of any role; announcing one twice, or one whose digest is never built, only costs
        reading his rows."""
        self._expected.setdefault(week, set()).update(user_ids)

    def _officer(
        self, session: Session, user_id: int, week: IsoWeek, today: dt.date
    ) -> OfficerRows:
        """The rows of officer *user_id*'s digest, read with those of the announced officers not
        read yet. Each officer's rows are handed out once (then dropped): a second digest of the
        same officer in the batch (a retry) reads his again, with any announced since."""
        batch = self._officers.setdefault((week, today), _OfficerBatch())
        if user_id not in batch.rows:
            announced = self._expected[None] | self._expected.get(week, set())
            others = sorted(announced - batch.read - {user_id})
            ids = [user_id, *others[: OFFICERS_PER_READ - 1]]
            # Stored only once read completely: a read that fails leaves nothing behind.
            batch.rows.update(_officers_rows(session, ids, week, today))
            batch.read.update(ids)
        return batch.rows.pop(user_id)

    def _get(self, key: tuple[Any, ...], compute: Callable[[], _ScopeFigures]) -> _ScopeFigures:
        found = self._figures.get(key)
        if found is None:
            # Stored only once complete: a build that fails leaves nothing behind.
            found = self._figures[key] = compute()
        return found


def _scope(user: User) -> tuple[Any, ...]:
    """What an overseer's figures depend on of the recipient himself: what he may see
    (:mod:`app.pipeline.visibility`) and which targets he follows (``targets_for``)."""
    sees = bool(user.is_authenticated and user.is_active)
    if user.role in (Role.LEADER, Role.ADMIN):
        return ("all", sees)
    if user.role is Role.MANAGER:
        return ("parks", tuple(sorted(user.park_ids)), sees)
    return (user.role.value, user.id, sees)  # no other role is an overseer: nothing shared


def _scope_figures(
    session: Session, user: User, week: IsoWeek, today: dt.date, base: str, thresholds: Thresholds
) -> _ScopeFigures:
    if user.role is Role.MANAGER:
        every_park: tuple[tuple[int, str, bool], ...] = ()
    else:
        every_park = tuple(
            (park.id, park.name, park.active)
            for park in session.scalars(select(Park).order_by(Park.sort_order, Park.id))
        )
    sections = (
        _new_leads(session, user, week, base),
        _stage_changes(session, user, week, base),
        _threshold_crossings(session, user, week, thresholds, base),
        _stalled(session, user, today, base),
        _milestones(session, user, today, base),
    )
    totals = {
        park_id: tuple(by_stage.values())
        for park_id, by_stage in _stage_totals(session, user).items()
    }
    targets = tuple(annual_target_progress(session, user, week, thresholds))
    return _ScopeFigures(sections, totals, every_park, targets)


def _overseer(session: Session, digest: Digest, shared: SharedFigures | None) -> None:
    """Managers (their parks), leaders and admins (every park)."""
    user, week, today, base = digest.user, digest.week, digest.today, digest.base_url
    thresholds = load_thresholds(session)
    manager = user.role is Role.MANAGER
    own_parks = [(park.id, park.name) for park in user.parks] if manager else []

    def compute() -> _ScopeFigures:
        return _scope_figures(session, user, week, today, base, thresholds)

    if shared is None:
        figures = compute()
    else:
        key = (_scope(user), week, today, base, thresholds, str(get_locale()))
        figures = shared._get(key, compute)

    shown = own_parks
    if not manager:
        shown = [
            (park_id, name)
            for park_id, name, active in figures.parks
            if active or park_id in figures.totals
        ]
    parks = [ParkDigest(park_id, name, f"{base}/board?park={park_id}") for park_id, name in shown]
    _split_by_park(list(figures.sections), parks)
    overall = {stage: StageTotal(stage) for stage in ALL_STAGES}
    for park in parks:
        found = figures.totals.get(park.park_id)
        park.totals = (
            [replace(row) for row in found] if found else [StageTotal(s) for s in ALL_STAGES]
        )
        for row in park.totals:
            overall[row.stage].add(row)
    digest.parks = parks
    digest.totals = list(overall.values())
    if not manager:
        changes = figures.sections[1]
        big = Section(BIG_MOVES, _("%(tier)s大项目进展", tier=thresholds.label("big")))
        big.entries = [
            e
            for e in changes.entries
            if e.kind == "project" and e.amount is not None and e.amount >= thresholds.big
        ]
        digest.sections = [big]
    digest.targets = [replace(target) for target in figures.targets]
    news = any(figures.sections) or any(digest.sections) or bool(digest.targets)
    digest.is_empty = not news


def build_digest(
    session: Session,
    user: User,
    week: IsoWeek,
    base_url: str,
    today: dt.date | None = None,
    shared: SharedFigures | None = None,
) -> Digest:
    """Build *user*'s digest for *week* (the week that ended). Reads only, never writes.

    *today* is the day the digest is read, by default the Monday after *week*; staleness, time
    in stage and upcoming milestones are measured from it. *base_url* (``BASE_URL``) prefixes
    every link. *shared*, one :class:`SharedFigures` for a whole batch of digests, reuses what
    an earlier digest of the batch computed for the same scope; the digest is the same.
    """
    digest = Digest(
        user=user,
        week=week,
        today=today or week.next().monday,
        base_url=base_url.rstrip("/"),
        role=user.role,
    )
    if user.role is Role.OFFICER:
        _officer(session, digest, shared)
    else:
        _overseer(session, digest, shared)
    return digest
