"""PostgreSQL connection settings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session


def configure_postgresql(engine: Engine, jit: bool) -> None:
    """Configure every new PostgreSQL connection of *engine*.

    JIT compilation is off unless asked for: the pages' statements are short aggregates whose
    cost estimates (correlated subqueries) trigger JIT, which then takes longer to compile them
    than they take to run (measured on the cockpit: 0.6 s of compiling for 0.35 s of work).

    Statements are not prepared on the server, so each is planned for its own parameters:
    psycopg prepares a statement once it has run five times, and the server may then switch to
    a generic plan, one for every parameter. The same statement serves a leader (every record),
    a manager (a park) and an officer (his own records), whose best plans differ: the week's
    stage changes of a park took 0.7 to 1.6 s per digest on the generic plan instead of 30 ms.
    (``plan_cache_mode = force_custom_plan`` does the same on the server's side but cost about
    0.7 ms more per list query than an unprepared statement, measured on the lead list.)
    Preparing only the statements whose plan is the same for any parameters (lookups by key, a
    record's own rows) would save their planning, about 2 ms of the record page's 3.6 ms of
    SQL, but psycopg deallocates every prepared statement at a ``ROLLBACK``, and every request
    ends with one: they would be prepared again on each request.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.prepare_threshold = None
        if not jit:
            dbapi_connection.execute("SET jit = off")
        dbapi_connection.commit()


def without_parallel_workers(session: Session) -> None:
    """No parallel workers for the statements of *session*'s transaction.

    For reads that already run side by side on their own connections (``app.core.reads``): the
    workers PostgreSQL would start for each large scan then compete with the other readers for
    the same cores (on two CPUs, the cockpit's figure sets took 185 ms side by side without them,
    210 ms with them).
    """
    session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
