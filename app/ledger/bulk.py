"""Write the new records of an import in bulk: the rows the services would write, in batches.

Importing row by row through ``create_enterprise``, ``create_lead``, ``create_project`` and
``move_stage`` costs about sixteen statements a row. This module writes the same rows with one
``INSERT`` executemany per table and batch of ledger rows, ids drawn beforehand as the tables'
defaults would draw them and values converted by the columns' own types (see :func:`_insert`):

- enterprises, cleaned by :func:`app.enterprises.services.clean_new_enterprises` (the bulk form
  of ``create_enterprise``'s checks);
- leads and projects created at 线索 and moved to the ledger's stage: the history rows are the
  steps :func:`app.pipeline.lifecycle.plan_move` returns, the record's final columns are
  :func:`app.pipeline.lifecycle.fields_after` of them, the version is 2 when a move was applied
  (as the services' second flush makes it);
- an officer's move into a milestone (or 终止) is a pending :class:`StageProposal` instead, as
  ``move_stage`` stores it, and the record stays at 线索;
- the audit rows the session hook would have written (a "create" row per record, an "update" row
  per column the move changed, from :func:`app.core.audit.column_changes`), with the session's
  actor and source, in the order the services write them.

The planner has already checked every row (permissions through ``visibility``, stage moves through
``plan_move``, amounts, credit codes, duplicates), so nothing here decides; the caller runs this
inside one transaction (a savepoint in :func:`app.ledger.importer.apply_import`).
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.core import search
from app.core.audit import AuditLog, audit_base, audit_row, column_changes
from app.core.db import utcnow
from app.core.timeutil import today_local
from app.enterprises.models import Enterprise
from app.enterprises.services import clean_new_enterprises
from app.pipeline import visibility
from app.pipeline.lifecycle import (
    Move,
    Stage,
    fields_after,
    further,
    needs_confirmation,
    plan_move,
    standing_days,
)
from app.pipeline.models import (
    Lead,
    LeadSource,
    Project,
    ProposalStatus,
    StageChange,
    StageProposal,
)
from app.pipeline.services import _encode_skips

__all__ = ["BATCH_SIZE", "BulkCounts", "gc_paused", "write_new_records"]

P = ParamSpec("P")
R = TypeVar("R")

#: Ledger rows written per batch (each batch is a handful of executemany statements).
BATCH_SIZE = 2000
#: From this many new records on, PostgreSQL's planner statistics are refreshed after writing.
ANALYZE_AFTER = 1000

_ENTERPRISE = Enterprise.__table__
_LEAD = Lead.__table__
_PROJECT = Project.__table__
_STAGE_CHANGE = StageChange.__table__
_PROPOSAL = StageProposal.__table__
_AUDIT = AuditLog.__table__
_NAME_GRAM = search.NameGram.__table__


class BulkCounts:
    """What was written: enterprises, leads, projects and pending stage proposals."""

    def __init__(self) -> None:
        self.enterprises = 0
        self.leads = 0
        self.projects = 0
        self.proposals = 0


def gc_paused(func: Callable[P, R]) -> Callable[P, R]:
    """Run *func* with Python's cycle collector paused (reference counting still frees memory).

    Reading, planning and writing a large ledger allocate hundreds of thousands of small dicts
    and objects that form no cycles; the collector's repeated passes over all of them made a
    50,000-row import slower than linear. The collector is process-wide: another thread running
    meanwhile simply finds it paused for that while.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if not gc.isenabled():
            return func(*args, **kwargs)
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            gc.enable()

    return wrapper


def _batches(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _new_ids(session: Session, table: Any, count: int) -> list[int] | None:
    """Ids for *count* new rows of *table*, in order, as the table's own default would draw them.

    None on a database other than PostgreSQL and SQLite: there the INSERT draws them itself.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # From the table's own sequence, as the column's default would draw them.
        return sorted(
            session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"table": table.name, "n": count},
            )
        )
    if dialect == "sqlite":
        # SQLite gives a new row the largest id so far plus one (the tables have no
        # AUTOINCREMENT), which is what the INSERT would draw: no other connection adds rows
        # unnoticed between this read and the INSERT (in WAL mode SQLite refuses this
        # transaction's write if another one has committed since it read; otherwise the other
        # writer waits for this transaction's lock). A taken id would fail as IntegrityError,
        # which apply_import reports as a concurrent change.
        last = session.scalar(select(func.max(table.c.id))) or 0
        return list(range(last + 1, last + 1 + count))
    return None


def _insert_returning_ids(
    session: Session, table: Any, rows: list[dict[str, Any]], **same: Any
) -> list[int]:
    """Insert *rows* and return their ids, in the order of *rows*."""
    if not rows:
        return []
    ids = _new_ids(session, table, len(rows))
    if ids is None:
        stmt = insert(table).values(**same).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.execute(stmt, rows).scalars())
    _insert(session, table, rows, ids=ids, **same)
    return ids


#: The placeholder of a positional parameter, by DBAPI parameter style (sqlite3, psycopg).
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _insert(
    session: Session,
    table: Any,
    rows: list[dict[str, Any]],
    *,
    ids: list[int] | None = None,
    **same: Any,
) -> None:
    """Insert *rows* (with *ids*, if given) with one executemany; *same*: values all rows share.

    Every value is converted by its column's own type, as SQLAlchemy would bind it, column by
    column and each distinct value once (see :func:`_bound`); the cursor gets plain tuples for a
    plain ``INSERT``. For the hundreds of thousands of history and audit rows of a large ledger,
    SQLAlchemy's per-row parameter handling would otherwise take longer than the database does.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    mark = _PLACEHOLDERS.get(dialect.paramstyle)
    if mark is None:  # a driver with another parameter style: through SQLAlchemy
        with_ids = rows if ids is None else [{**r, "id": i} for r, i in zip(rows, ids, strict=True)]
        connection.execute(insert(table).values(**same), with_ids)
        return
    keys = list(rows[0])
    columns: dict[str, Sequence[Any]] = {}
    if ids is not None:
        columns["id"] = ids
    for key, values in zip(keys, _by_column(rows, keys), strict=True):
        columns[key] = _bound(table.c[key], dialect, values)
    for key, value in same.items():
        columns[key] = _bound(table.c[key], dialect, [value]) * len(rows)
    # A plain INSERT applies no Python-side column default: every such column must be given.
    missing = [c.key for c in table.c if c.default is not None and c.key not in columns]
    if missing:
        raise TypeError(f"no value for {table.name}.{', '.join(missing)}, which has a default")
    prepare = dialect.identifier_preparer
    names = ", ".join(prepare.quote(table.c[key].name) for key in columns)
    marks = ", ".join(mark for _ in columns)
    # Quoted names of the table's own columns; every value is a bound parameter.
    statement = f"INSERT INTO {prepare.format_table(table)} ({names}) VALUES ({marks})"  # noqa: S608
    connection.exec_driver_sql(statement, list(zip(*columns.values(), strict=True)))


def _pairs(model: Any, ids: list[int], names: list[str]) -> list[search.Pair]:
    """The ``name_gram`` rows of new records of *model*."""
    return list(search.pair_rows(model.__search__[0], zip(ids, names, strict=True)))


def _by_column(rows: list[dict[str, Any]], keys: list[str]) -> list[tuple[Any, ...]]:
    """The values of *keys* in *rows*, one tuple per key (itemgetter and zip do the loops)."""
    if len(keys) == 1:
        return [tuple(row[keys[0]] for row in rows)]
    return list(zip(*map(operator.itemgetter(*keys), rows), strict=True))


def _bound(column: Any, dialect: Any, values: Sequence[Any]) -> Sequence[Any]:
    """*values* of *column* as the driver receives them: through the type's bind processor.

    The processor runs once per distinct value (equal values bind alike): stages, dates,
    amounts and the moment of writing repeat across the rows of a ledger.
    """
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return values
    bound = {value: process(value) for value in set(values)}
    return [bound[value] for value in values]


class _Writer:
    """State kept across batches: ids of the enterprises and leads created so far."""

    def __init__(self, session: Session, user: User, kind: str) -> None:
        self.session = session
        self.user = user
        self.kind = kind
        self.today = today_local()
        self.now = utcnow()
        # The audit columns every row of this import shares, written once per statement.
        self.audit_same = {**audit_base(session), "at": self.now}
        self.audit: dict[str, Any] = {}  # what audit_row adds to each row: nothing more
        self.enterprise_ids: dict[str, int] = {}
        self.lead_ids: dict[tuple[str, int], int] = {}
        self.manages: dict[int, bool] = {}
        self.counts = BulkCounts()

    @property
    def stamps(self) -> dict[str, Any]:
        return {"created_at": self.now, "updated_at": self.now}

    def _confirmer(self, park_id: int) -> int | None:
        """``move_stage``: a manager's (or admin's) own move is confirmed by himself."""
        if park_id not in self.manages:
            self.manages[park_id] = visibility.can_manage(self.user, Lead(park_id=park_id))
        return self.user.id if self.manages[park_id] else None

    # -- one batch ---------------------------------------------------------------------------

    def write(self, rows: Sequence[Any]) -> None:
        session, user = self.session, self.user
        # Enterprises first: the leads and projects point at them.
        new_keys: list[str] = []
        fields: list[dict[str, Any]] = []
        for row in rows:
            data = row.data
            key = data["enterprise_key"]
            if data.get("enterprise") is None and key not in self.enterprise_ids:
                self.enterprise_ids[key] = 0  # claimed; the id follows below
                new_keys.append(key)
                fields.append({"name": data["enterprise_name"], "credit_code": data["credit_code"]})
        cleaned = clean_new_enterprises(session, user, fields)
        ids = _insert_returning_ids(session, _ENTERPRISE, cleaned, version=1, **self.stamps)
        self.enterprise_ids.update(zip(new_keys, ids, strict=True))
        # The names' pairs, for the search (app.core.search), as the session hook adds them.
        pairs = _pairs(Enterprise, ids, [c["name"] for c in cleaned])
        self.counts.enterprises += len(ids)
        created_enterprises = set(ids)

        # Leads: one per ledger row of a lead ledger; for projects, the lead found by the plan,
        # or one new lead per enterprise and park.
        records = [_Record(self, row) for row in rows]
        lead_rows = [r.lead_values() for r in records if r.creates_lead]
        new_lead_ids = _insert_returning_ids(session, _LEAD, lead_rows, **self.stamps)
        pairs += _pairs(Lead, new_lead_ids, [r["title"] for r in lead_rows])
        lead_ids = iter(new_lead_ids)
        for record in records:
            if record.creates_lead:
                record.lead_id = next(lead_ids)
                if self.kind == "projects":
                    self.lead_ids[(record.ekey, record.park_id)] = record.lead_id
            elif self.kind == "projects":
                record.lead_id = record.existing_lead_id()
        self.counts.leads += len(lead_rows)

        if self.kind == "projects":
            project_rows = [r.project_values() for r in records]
            project_ids = _insert_returning_ids(session, _PROJECT, project_rows, **self.stamps)
            pairs += _pairs(Project, project_ids, [r["name"] for r in project_rows])
            for record, project_id in zip(records, project_ids, strict=True):
                record.project_id = project_id
            self.counts.projects += len(project_ids)

        # History, proposals and audit rows, in the order the services write them.
        history: list[dict[str, Any]] = []
        proposals: list[dict[str, Any]] = []
        audit: list[dict[str, Any]] = []
        for record in records:
            enterprise_id = record.enterprise_id
            if enterprise_id in created_enterprises:
                created_enterprises.discard(enterprise_id)
                audit.append(audit_row(self.audit, "enterprise", enterprise_id, "create"))
            record.rows(history, proposals, audit)
        _insert(session, _STAGE_CHANGE, history, recorded_at=self.now, recorded_by_id=self.user.id)
        _insert(session, _PROPOSAL, proposals, proposed_at=self.now)
        _insert(session, _AUDIT, audit, **self.audit_same)
        search.insert_rows(session.connection(), pairs)
        self.counts.proposals += len(proposals)


class _Record:
    """One ledger row: the lead (and project) it creates and the move it makes."""

    __slots__ = (
        "after",
        "creates_lead",
        "data",
        "ekey",
        "enterprise_id",
        "lead_id",
        "move",
        "park_id",
        "project_id",
        "proposes",
        "start",
        "steps",
        "writer",
    )

    def __init__(self, writer: _Writer, row: Any) -> None:
        data = row.data
        self.writer = writer
        self.data = data
        self.ekey = data["enterprise_key"]
        enterprise = data.get("enterprise")
        self.enterprise_id = (
            enterprise.id if enterprise is not None else writer.enterprise_ids[self.ekey]
        )
        self.park_id = data["park"].id
        self.start: dt.date = data["start"]
        self.lead_id = 0
        self.project_id = 0
        if writer.kind == "projects":
            self.creates_lead = (
                data.get("lead") is None and (self.ekey, self.park_id) not in writer.lead_ids
            )
            if self.creates_lead:
                writer.lead_ids[(self.ekey, self.park_id)] = 0  # claimed by this row
        else:
            self.creates_lead = True
        move: Move | None = data["move"]
        if move is not None and move.target is Stage.LEAD:
            move = None
        self.move = move
        user = writer.user
        self.proposes = bool(
            move is not None and user.role is Role.OFFICER and needs_confirmation(move.target)
        )
        # move_stage checks the move before proposing or applying it; the plan did, with the
        # same rule and day, and kept the steps.
        steps = data.get("steps")
        if move is not None and not steps:
            steps = plan_move(Stage.LEAD, self.start, move, writer.today)
        self.steps = steps if move is not None else []
        # The record's columns once the move is applied (none while it is only proposed).
        self.after = fields_after(self.steps) if self.steps and not self.proposes else {}
        if self.after:  # from the opening row's 线索 on, as the session hook keeps it
            moves = (step.to_stage for step in self.steps)
            self.after["furthest_stage"] = functools.reduce(further, moves, Stage.LEAD)

    def existing_lead_id(self) -> int:
        lead = self.data.get("lead")
        if lead is not None:
            return lead.id
        return self.writer.lead_ids[(self.ekey, self.park_id)]

    def _owner_id(self, lead_owner_id: int | None = None) -> int:
        user, owner = self.writer.user, self.data["owner"]
        if user.role is Role.OFFICER:
            return user.id
        if owner is not None:
            return owner.id
        return lead_owner_id if lead_owner_id is not None else user.id

    def _common(self, moved: bool) -> dict[str, Any]:
        data = self.data
        values = {
            "stage": Stage.LEAD,
            "stage_since": self.start,
            "opened_on": self.start,
            "furthest_stage": Stage.LEAD,
            "held_from": None,
            "signed_on": None,
            "construction_on": None,
            "production_on": None,
            "full_production_on": None,
            "last_contact_on": None,
            "next_step": None,
            "next_step_due": None,
            "park_id": self.park_id,
            "chain_link_id": data["chain_link"].id if data["chain_link"] is not None else None,
            "enterprise_id": self.enterprise_id,
            "version": 2 if moved else 1,
        }
        return values

    def lead_values(self) -> dict[str, Any]:
        data = self.data
        moves_lead = self.writer.kind == "leads"
        after = self.after if moves_lead else {}
        values = self._common(bool(after))
        values.update(
            title=data["name"],
            source=LeadSource.OTHER,
            estimated_investment=data["total"],
            owner_id=self._owner_id(),
            description=_text(data["note"]) if moves_lead else None,
            **after,
        )
        return _with_standing_days(values)

    def project_values(self) -> dict[str, Any]:
        data = self.data
        after = self.after
        lead = data.get("lead")
        values = self._common(bool(after))
        values.update(
            lead_id=self.lead_id,
            name=data["name"],
            total_investment=data["total"],
            fixed_asset_investment=data["fixed"],
            planned_signing_on=None,
            planned_construction_on=None,
            planned_production_on=None,
            planned_full_production_on=None,
            owner_id=self._owner_id(lead.owner_id if lead is not None else None),
            description=_text(data["note"]),
            **after,
        )
        return _with_standing_days(values)

    def rows(self, history: list, proposals: list, audit: list) -> None:
        """Append this row's history, proposal and audit rows, as the services order them."""
        writer = self.writer
        user_id = writer.user.id
        base = writer.audit
        if self.creates_lead:
            audit.append(audit_row(base, "lead", self.lead_id, "create"))
            lead = {"lead_id": self.lead_id}
            history.append(_history(lead, None, Stage.LEAD, self.start))
        if writer.kind == "projects":
            subject_model, subject, entity, entity_id = (
                Project,
                {"project_id": self.project_id},
                "project",
                self.project_id,
            )
            audit.append(audit_row(base, "project", self.project_id, "create"))
            history.append(_history(subject, None, Stage.LEAD, self.start))
        else:
            subject_model, subject, entity, entity_id = (
                Lead,
                {"lead_id": self.lead_id},
                "lead",
                self.lead_id,
            )
        move = self.move
        if move is None:
            return
        if self.proposes:
            proposals.append(
                {
                    "lead_id": subject.get("lead_id"),
                    "project_id": subject.get("project_id"),
                    "park_id": self.park_id,
                    "from_stage": Stage.LEAD,
                    "to_stage": move.target,
                    "effective_on": move.effective_on,
                    "skipped_dates": _encode_skips(move.skipped_dates),
                    "reason": _text(move.reason),
                    "note": _text(move.note),
                    "status": ProposalStatus.PENDING,
                    "proposed_by_id": user_id,
                    "decided_by_id": None,
                    "decided_at": None,
                    "decision_note": None,
                }
            )
            return
        confirmer = writer._confirmer(self.park_id)
        last = self.steps[-1]
        for step in self.steps:
            row = _history(subject, step.from_stage, step.to_stage, step.effective_on)
            row["from_since"] = step.from_since
            row["confirmed_by_id"] = confirmer
            if step is last:
                row["reason"] = _text(move.reason)
                row["note"] = _text(move.note)
            history.append(row)
        before = {"stage": Stage.LEAD, "stage_since": self.start}
        after = {**before, **self.after}
        for field, old, new in column_changes(subject_model, before, after):
            audit.append(audit_row(base, entity, entity_id, "update", field, old, new))


def _history(
    subject: dict[str, int],
    from_stage: Stage | None,
    to_stage: Stage,
    effective_on: dt.date,
) -> dict[str, Any]:
    """A stage-history row; recorder and moment are the same for all (see ``_insert``)."""
    return {
        "lead_id": subject.get("lead_id"),
        "project_id": subject.get("project_id"),
        "from_stage": from_stage,
        "to_stage": to_stage,
        "effective_on": effective_on,
        "from_since": None,
        "confirmed_by_id": None,
        "reason": None,
        "note": None,
    }


def _with_standing_days(values: dict[str, Any]) -> dict[str, Any]:
    """*values* of a record with the stale and too-long days the session hook would keep."""
    values.update(standing_days(values["stage"], values["stage_since"], values["last_contact_on"]))
    return values


def _text(value: str | None) -> str | None:
    """The services' ``_check_text``: stripped, empty is None (lengths are checked by the plan)."""
    return (value or "").strip() or None


@gc_paused
def write_new_records(
    session: Session, user: User, kind: str, rows: Iterable[Any], batch_size: int = BATCH_SIZE
) -> BulkCounts:
    """Write the planned CREATE rows of a *kind* ledger; flushes nothing, commits nothing."""
    writer = _Writer(session, user, kind)
    rows = list(rows)
    for batch in _batches(rows, batch_size):
        writer.write(batch)
    if len(rows) >= ANALYZE_AFTER and session.get_bind().dialect.name == "postgresql":
        # PostgreSQL plans the next import's look-ups from table statistics, which autovacuum
        # refreshes only later: without this, a dry run right after a large import can take
        # minutes instead of seconds. (Part of the transaction, so undone with it.)
        for table in (_ENTERPRISE, _LEAD, _PROJECT, _STAGE_CHANGE, _PROPOSAL, _AUDIT, _NAME_GRAM):
            session.execute(text(f"ANALYZE {table.name}"))
    return writer.counts
