"""PostgreSQL connection settings."""

from __future__ import annotations

import sys
from typing import Any

import psycopg
from psycopg.pq import ExecStatus, TransactionStatus
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from app.core.db import SAME_PLAN_OPTION

# psycopg prepares a statement on its own once it has run this often: never. Only the statements
# marked SAME_PLAN are prepared, on their first run.
_NEVER = sys.maxsize


class KeepingConnection(psycopg.Connection):
    """psycopg's connection, except that the ``ROLLBACK`` of a transaction without error keeps
    the prepared statements.

    The server keeps a connection's prepared statements across ``ROLLBACK``; psycopg forgets them
    and deallocates them all, in case the transaction had dropped or altered what they read. The
    application's requests change no schema, and every request ends with a ``ROLLBACK`` (the
    session is closed): without this, each request would prepare its statements again.

    A failed transaction is rolled back by psycopg, forgetting them all: the error may have come
    from a prepared statement itself (``cached plan must not change result type`` after a
    migration changed a column's type), which must then be prepared again rather than fail on
    every request. A ``DROP`` or ``ALTER`` run on the connection clears them too (psycopg's own
    rule), and so does a rollback the server refuses.
    """

    def rollback(self) -> None:
        if self.info.transaction_status == TransactionStatus.INTRANS:
            result = self.pgconn.exec_(b"ROLLBACK")
            if result.status == ExecStatus.COMMAND_OK:
                return
        super().rollback()


def configure_postgresql(engine: Engine, jit: bool, prepare: bool = True) -> None:
    """Configure every new PostgreSQL connection of *engine*.

    JIT compilation is off unless asked for: the pages' statements are short aggregates whose
    cost estimates (correlated subqueries) trigger JIT, which then takes longer to compile them
    than they take to run (measured on the cockpit: 0.6 s of compiling for 0.35 s of work).

    Statements marked :data:`~app.core.db.SAME_PLAN` (lookups by key, a record's own rows, the
    reference tables) are prepared on the server the first time a connection runs them, and
    their plan is kept for the connection's life (:class:`KeepingConnection`), as SQLite's driver
    keeps every statement: the record page of a lead with 300 contacts took 11.2 ms instead of
    14.1 (medians, both settings alternating in one process, on the district data set). With
    *prepare* false (a pooler in transaction mode that does not carry prepared statements, such
    as PgBouncer before 1.21), nothing is prepared.

    Every other statement is planned for its own parameters: psycopg's own rule (prepare a
    statement once it has run five times) is off, since the server may then switch to a generic
    plan, one for every parameter. The same statement serves a leader (every record), a manager
    (a park) and an officer (his own records), whose best plans differ: the week's stage changes
    of a park took 0.7 to 1.6 s per digest on the generic plan instead of 30 ms.
    (``plan_cache_mode = force_custom_plan`` does the same on the server's side but cost about
    0.7 ms more per list query than an unprepared statement, measured on the lead list.)
    """

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, connection_record: Any, cargs: Any, cparams: Any) -> Any:
        return KeepingConnection.connect(*cargs, **cparams)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.prepare_threshold = _NEVER if prepare else None
        if not jit:
            dbapi_connection.execute("SET jit = off")
        dbapi_connection.commit()

    if not prepare:
        return

    @event.listens_for(engine, "do_execute")
    def _execute(cursor: Any, statement: str, parameters: Any, context: Any) -> bool | None:
        if context.execution_options.get(SAME_PLAN_OPTION):
            cursor.execute(statement, parameters, prepare=True)
            return True
        return None


def without_parallel_workers(session: Session) -> None:
    """No parallel workers for the statements of *session*'s transaction.

    For reads that already run side by side on their own connections (``app.core.reads``): the
    workers PostgreSQL would start for each large scan then compete with the other readers for
    the same cores (on two CPUs, the cockpit's figure sets took 185 ms side by side without them,
    210 ms with them).
    """
    session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
