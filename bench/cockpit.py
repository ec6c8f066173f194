"""Benchmark: the cockpit and the chain map on a generated district, next to their SQL floor.

    python -m bench.generate --database-url sqlite:///bench/data/district.sqlite3
    python -m bench.cockpit --database-url sqlite:///bench/data/district.sqlite3

APP: the cockpit page (``GET /cockpit/`` for this year) and the chain map, requested through
the WSGI app as a leader and as a park manager, and ``build_cockpit`` alone (the SQL work
without rendering). FLOOR: the cockpit's central aggregate, projects signed, started and
producing this year by park and tier, written as one hand-made SQL statement and run with
the plain driver (sqlite3 or psycopg). Reports median and p95 over repeated runs, the number of
SQL statements per page, and the ratio to the floor; writes a Markdown table to
``bench/results/cockpit-<date>.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"

FLOOR_SQL = """
SELECT park_id,
  COUNT(*) FILTER (WHERE signed_on BETWEEN :a AND :b),
  SUM(total_investment) FILTER (WHERE signed_on BETWEEN :a AND :b),
  COUNT(*) FILTER (WHERE signed_on BETWEEN :a AND :b AND total_investment >= 100000000),
  COUNT(*) FILTER (WHERE signed_on BETWEEN :a AND :b AND total_investment >= 500000000),
  COUNT(*) FILTER (WHERE signed_on BETWEEN :a AND :b AND total_investment >= 5000000000),
  COUNT(*) FILTER (WHERE construction_on BETWEEN :a AND :b),
  COUNT(*) FILTER (WHERE production_on BETWEEN :a AND :b)
FROM project
WHERE signed_on BETWEEN :a AND :b OR construction_on BETWEEN :a AND :b
   OR production_on BETWEEN :a AND :b
GROUP BY park_id
"""


def timed(action: Callable[[], Any], runs: int) -> list[float]:
    action()  # warm up: caches, compiled statements
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        out.append(time.perf_counter() - started)
    return out


def floor(database_url: str, year: int) -> Callable[[], Any]:
    params = {"a": f"{year}-01-01", "b": f"{year}-12-31"}
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        return lambda: conn.execute(FLOOR_SQL, params).fetchall()
    import psycopg

    conn = psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql"))
    sql = FLOOR_SQL.replace(":a", "%(a)s").replace(":b", "%(b)s")
    return lambda: conn.execute(sql, params).fetchall()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--output", type=Path, default=RESULTS, help="folder for the result")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))

    from flask import g
    from sqlalchemy import event, func, select

    from app import create_app
    from app.auth.models import Role, User
    from app.cockpit.services import Scope, build_cockpit
    from app.core.timeutil import today_local
    from app.extensions import db
    from app.pipeline.flags import load_thresholds
    from app.pipeline.models import ContactLog, Project
    from config import database_url

    app = create_app("development", SQLALCHEMY_DATABASE_URI=database_url(args.database_url))
    app.config.update(WTF_CSRF_ENABLED=False)
    today = today_local()
    rows: list[tuple[str, list[float], int | None]] = []
    with app.app_context():
        projects = db.session.scalar(select(func.count()).select_from(Project))
        contacts = db.session.scalar(select(func.count()).select_from(ContactLog))
        leader = db.session.scalar(select(User).where(User.role == Role.LEADER).limit(1))
        manager = db.session.scalar(select(User).where(User.role == Role.MANAGER).limit(1))
        thresholds = load_thresholds(db.session)
        scope = Scope(dt.date(today.year, 1, 1), dt.date(today.year, 12, 31), year=today.year)
        rows.append(
            (
                "floor: one hand-written GROUP BY",
                timed(floor(args.database_url, today.year), args.runs),
                1,
            )
        )

        def service(user: Any) -> Callable[[], Any]:
            return lambda: build_cockpit(db.session, user, scope, thresholds, today)

        rows.append(("build_cockpit (leader)", timed(service(leader), args.runs), None))
        statements: list[str] = []

        def count(*_a: Any) -> None:
            statements.append("x")

        for who, user in (("leader", leader), ("manager", manager)):
            client = app.test_client()
            client.post("/login", data={"username": user.username, "password": "Bench@2026"})
            for path in ("/cockpit/", "/cockpit/chains"):

                def get(path: str = path, client: Any = client) -> None:
                    g.pop("thresholds", None)
                    response = client.get(path)
                    assert response.status_code == 200, response.status_code

                event.listen(db.engine, "before_cursor_execute", count)
                statements.clear()
                get()
                event.remove(db.engine, "before_cursor_execute", count)
                rows.append((f"GET {path} ({who})", timed(get, args.runs), len(statements)))

    base = statistics.median(rows[0][1])
    dialect = (
        "SQLite " + sqlite3.sqlite_version
        if args.database_url.startswith("sqlite")
        else "PostgreSQL"
    )
    lines = [
        f"# Cockpit benchmark, {dt.datetime.now().isoformat(timespec='seconds')}",
        "",
        f"- machine: {platform.platform()}, {platform.machine()}, "
        f"{__import__('os').cpu_count()} CPUs, Python {platform.python_version()}",
        f"- database: {dialect}; {projects:,} projects, {contacts:,} contact-log rows",
        f"- runs: {args.runs} after one warm-up",
        "",
        "| path | median ms | p95 ms | SQL statements | × floor |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, times, queries in rows:
        median = statistics.median(times)
        p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
        lines.append(
            f"| {name} | {median * 1000:.1f} | {p95 * 1000:.1f} | {queries or '—'} "
            f"| {median / base:.1f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    args.output.mkdir(parents=True, exist_ok=True)
    suffix = "sqlite" if args.database_url.startswith("sqlite") else "postgresql"
    (args.output / f"cockpit-{today.isoformat()}-{suffix}.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
