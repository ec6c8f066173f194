"""Which statements are marked SAME_PLAN (planned once per connection on PostgreSQL): lookups by
key and one record's own rows, never a filter whose best plan depends on its values."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select

from app.core.db import SAME_PLAN, SAME_PLAN_OPTION
from app.extensions import db
from app.pipeline.lifecycle import Stage
from app.pipeline.models import Lead, Project
from tests.factories import ContactLogFactory, LeadFactory, ProjectFactory


def _one_line(statement: str) -> str:
    """*statement* on one line, without quotes, each parameter written ``?``."""
    return re.sub(r"%\(\w+\)s(::\w+)?", "?", " ".join(statement.replace('"', "").split()))


@contextmanager
def statements() -> Iterator[list[tuple[str, bool]]]:
    """Every statement run inside the block (unquoted, on one line), with whether it was marked
    SAME_PLAN."""
    seen: list[tuple[str, bool]] = []

    def _record(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: Any):
        seen.append(
            (
                _one_line(statement),
                bool(context.execution_options.get(SAME_PLAN_OPTION)),
            )
        )

    engine = db.engine
    event.listen(engine, "before_cursor_execute", _record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", _record)


def _marked(seen: list[tuple[str, bool]], fragment: str) -> bool:
    """Whether the statements containing *fragment* (at least one) are all marked."""
    matching = [marked for statement, marked in seen if fragment in statement]
    assert matching, f"no statement contains {fragment!r}: {[s for s, _m in seen]}"
    return all(matching)


def test_many_to_one_loads_and_column_loads_are_marked(session: Any, world: Any) -> None:
    lead = LeadFactory(owner=world.officer, park=world.park_a, chain_link=world.link)
    ProjectFactory(lead=lead, owner=world.officer, park=world.park_a)
    session.flush()
    lead_id = lead.id
    session.expunge_all()
    with statements() as seen:
        lead = session.scalars(select(Lead).where(Lead.park_id == world.park_a.id)).one()
        assert lead.id == lead_id
        assert lead.park.code == "IC"  # many-to-one, by the park's key
        assert lead.chain_link.chain.code == "CHIP"  # two more, by key
        assert [p.name for p in lead.projects]  # one-to-many: the lead's projects
        session.expire(lead, ["title"])
        assert lead.title  # a column load, by the lead's key
    assert not _marked(seen, "WHERE lead.park_id")  # a filter: planned for its value
    assert _marked(seen, "FROM park WHERE park.id")
    assert _marked(seen, "FROM chain_link WHERE chain_link.id")
    assert _marked(seen, "FROM chain WHERE chain.id")
    assert not _marked(seen, "FROM project WHERE")  # a collection may be large: not by key
    assert _marked(seen, "SELECT lead.title FROM lead WHERE lead.id")


def test_the_record_page_reads_by_key(login_as: Any, session: Any, world: Any) -> None:
    lead = LeadFactory(
        owner=world.officer, park=world.park_a, chain_link=world.link, stage=Stage.NEGOTIATING
    )
    ContactLogFactory(lead=lead, created_by=world.officer)
    ProjectFactory(lead=lead, owner=world.officer, park=world.park_a)
    session.flush()
    client = login_as(world.manager)
    lead_id, park_id = lead.id, world.park_a.id
    session.expire_all()  # the page reads everything from the database
    with statements() as seen:
        assert client.get(f"/leads/{lead_id}").status_code == 200
    assert _marked(seen, "FROM user WHERE user.id")  # the logged-in user
    assert _marked(seen, "WHERE lead.id = ")  # the record
    for table in ("contact_log", "stage_change", "audit_log", "stage_proposal", "setting"):
        assert _marked(seen, f"FROM {table}"), table
    assert _marked(seen, "project.lead_id = ? ORDER BY project.id")  # the lead's projects
    with statements() as seen:
        assert client.get(f"/leads?park={park_id}").status_code == 200
    assert not _marked(seen, "FROM lead WHERE")  # the list's filter and count
    assert _marked(seen, "FROM park ORDER BY")  # the reference rows of its filters


def test_the_mark_is_no_filter(session: Any, world: Any) -> None:
    """Marked statements return the same rows as unmarked ones (on PostgreSQL: prepared)."""
    lead = LeadFactory(owner=world.officer, park=world.park_a)
    session.flush()
    stmt = select(Lead.id, Lead.title).where(Lead.id == lead.id)
    for _ in range(3):
        assert session.execute(stmt.execution_options(**SAME_PLAN)).all() == [(lead.id, lead.title)]
    assert session.get(Project, -1, execution_options=SAME_PLAN) is None


def test_the_board_reads_its_cards_by_one_plan(login_as: Any, session: Any, world: Any) -> None:
    """The largest cards are short reads of the board's index, whichever park; the counts per
    stage are planned for the park."""
    LeadFactory(owner=world.officer, park=world.park_a, stage=Stage.NEGOTIATING)
    session.flush()
    client = login_as(world.manager)
    with statements() as seen:
        assert client.get(f"/board?park={world.park_a.id}").status_code == 200
    assert _marked(seen, "UNION ALL")
    assert not _marked(seen, "GROUP BY lead.stage")


def test_the_cockpit_checks_its_data_by_one_plan(login_as: Any, session: Any, world: Any) -> None:
    """The stamp every view of the cockpit reads (ends of indexes) and its reference rows."""
    LeadFactory(owner=world.officer, park=world.park_a)
    session.flush()
    client = login_as(world.leader)
    with statements() as seen:
        assert client.get("/cockpit/").status_code == 200
    assert _marked(seen, "max(lead.updated_at)")
    assert _marked(seen, "FROM park ORDER BY")
    assert _marked(seen, "FROM chain ORDER BY")
