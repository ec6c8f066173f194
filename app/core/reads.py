"""Independent read statements run side by side, each on a connection of its own.

A page made of several heavy aggregates over the same tables (the cockpit's figure sets) waits
for their sum when they run one after another on the request's connection. Both databases
answer reads on different connections at once (SQLite in WAL mode, PostgreSQL always), and
both drivers release the GIL while the database works, so with ``PARALLEL_READS`` connections
the page waits for roughly the longest share instead. On PostgreSQL the readers' statements
start no parallel workers of their own, which would compete with the other readers.

Each read gets a :class:`~sqlalchemy.orm.Session` of its own, which sees committed data as of
its own first statement: the reads must not depend on the request's uncommitted writes, and
their results may come from moments a few milliseconds apart (as with PostgreSQL's READ
COMMITTED, where every statement of one session takes its own snapshot anyway).

A session bound to one connection (the test suite's rolled-back transaction) or to an
in-memory SQLite database, whose data other connections cannot see, runs the reads in order
on the session itself.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

from flask import Flask, current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.core.postgresql import without_parallel_workers

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

Read = Callable[[Session], T]

_lock = threading.Lock()
_pools: dict[tuple[int, int], ThreadPoolExecutor] = {}


def _pool(workers: int) -> ThreadPoolExecutor:
    """The process's pool of *workers* threads (a new one after a fork: threads don't survive
    it, so a pool made before gunicorn forked its workers would never run anything)."""
    key = (os.getpid(), workers)
    with _lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = ThreadPoolExecutor(workers, thread_name_prefix="reads")
        return pool


def side_by_side(bind: Engine | object) -> bool:
    """Whether reads may run on other connections than the session's and see the same data."""
    if not isinstance(bind, Engine):
        return False  # a connection: its transaction is visible to itself only
    database = bind.url.database
    return not (bind.dialect.name == "sqlite" and database in (None, "", ":memory:"))


def run_reads(
    session: Session, reads: Mapping[K, Read[T]], workers: int | None = None
) -> dict[K, T]:
    """Run every read of *reads* and return their results under the same keys.

    With *workers* (default: the ``PARALLEL_READS`` setting) above one and a session on an
    engine, the reads run on that many threads, each on a session of its own, in the order
    given (put the longest first); otherwise one after another on *session*. An exception of
    any read is raised once all have finished. A read must not call this itself: it would wait
    for a thread of the pool it holds.
    """
    if workers is None:
        workers = int(current_app.config.get("PARALLEL_READS", 1))
    bind = session.get_bind()
    if workers < 2 or len(reads) < 2 or not side_by_side(bind):
        return {key: read(session) for key, read in reads.items()}
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]

    def run(read: Read[T]) -> T:
        with app.app_context(), Session(bind) as own:
            if bind.dialect.name == "postgresql":
                without_parallel_workers(own)
            return read(own)

    pool = _pool(workers)
    futures: dict[K, Future[T]] = {key: pool.submit(run, read) for key, read in reads.items()}
    wait(futures.values())
    return {key: future.result() for key, future in futures.items()}
