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

# column names, day limits); every value from outside is a bound parameter.
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

from bench import RESULTS, percentile, write_result

ROOT = Path(__file__).resolve().parent.parent

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


def page_floor(
    sqlite: bool, start: dt.date, end: dt.date, today: dt.date, tiers: dict[str, int]
) -> list[tuple[str, dict[str, Any]]]:
    """Every figure set of a leader's cockpit for start..end, as hand-written SQL (run together
    on the plain driver): the floor of the whole page. *tiers* are the tier floors in yuan
    (``yi``, ``major``, ``big``). Parameters are ``:name``; dates are ISO strings."""
    from app.cockpit.services import BIG_PROJECTS_SHOWN, LEAD_STAGES, PROJECT_STAGES

    p: dict[str, Any] = {"a": start.isoformat(), "b": end.isoformat(), "today": today.isoformat()}
    p.update({f"t_{tier}": floor for tier, floor in tiers.items()})
    events = ("signed_on", "construction_on", "production_on")

    def quoted(stages: Any) -> str:
        return ", ".join(f"'{stage.value}'" for stage in stages)

    # 1. Projects signed, started and producing in the period, per park, of any size and per tier.
    cells = []
    for column in events:
        for tier in (None, *tiers):
            cond = f"{column} BETWEEN :a AND :b"
            if tier:
                cond += f" AND total_investment >= :t_{tier}"
            cells.append(
                f"COUNT(*) FILTER (WHERE {cond}), SUM(total_investment) FILTER (WHERE {cond})"
            )
    any_event = " OR ".join(f"{column} BETWEEN :a AND :b" for column in events)
    milestones = (
        f"SELECT park_id, {', '.join(cells)} FROM project WHERE {any_event} GROUP BY park_id"
    )
    # 2. The same per month.
    month = "substr({c}, 1, 7)" if sqlite else "to_char({c}, 'YYYY-MM')"
    monthly = " UNION ALL ".join(
        f"SELECT park_id, '{column}', {month.format(c=column)}, COUNT(*), SUM(total_investment) "
        f"FROM project WHERE {column} BETWEEN :a AND :b GROUP BY park_id, 3"
        for column in events
    )
    # 3, 4. Records as they stand: stalled, too long in their stage, tiers; per park and stage
    # (the first day of each flag is a generated column of the record).
    stale = "stale_on <= :today"
    too_long = "too_long_on <= :today"

    def standing(table: str, amount: str, with_tiers: bool) -> str:
        conds = [stale, too_long]
        if with_tiers:
            conds += [f"{amount} >= :t_{tier}" for tier in tiers]
        figures = ", ".join(
            f"COUNT(*) FILTER (WHERE {c}), SUM({amount}) FILTER (WHERE {c})" for c in conds
        )
        return f"SELECT park_id, stage, {figures} FROM {table} GROUP BY park_id, stage"

    # 5. The funnel: leads opened in the period, by the furthest stage they got to (both facts
    # stored on the lead).
    funnel = (
        "SELECT furthest_stage, COUNT(*), SUM(estimated_investment) FROM lead "
        "WHERE opened_on BETWEEN :a AND :b GROUP BY furthest_stage"
    )
    # 6, 7. Days in each stage for the stays that ended in the period, as a histogram.
    days = (
        "julianday(effective_on) - julianday(from_since)" if sqlite else "effective_on - from_since"
    )

    def stays(subject: str, stages: Any) -> str:
        return (
            f"SELECT stage, days, COUNT(*) FROM (SELECT from_stage AS stage, {days} AS days "
            f"FROM stage_change WHERE from_stage IN ({quoted(stages)}) "
            f"AND effective_on BETWEEN :a AND :b AND {subject} IS NOT NULL) AS s "
            "GROUP BY stage, days"
        )

    # 8. The 50亿元+ projects, largest first, and their number and sum.
    big_list = (
        "SELECT p.id, p.name, p.total_investment, p.stage, e.name, park.name, u.full_name "
        "FROM project p JOIN enterprise e ON e.id = p.enterprise_id "
        'JOIN park ON park.id = p.park_id JOIN "user" u ON u.id = p.owner_id '
        f"WHERE p.total_investment >= :t_big ORDER BY p.total_investment DESC, p.id "
        f"LIMIT {BIG_PROJECTS_SHOWN}"
    )
    big_total = (
        "SELECT COUNT(*), SUM(total_investment) FROM project WHERE total_investment >= :t_big"
    )
    statements = [
        milestones,
        monthly,
        standing("project", "total_investment", True),
        standing("lead", "estimated_investment", False),
        funnel,
        stays("lead_id", LEAD_STAGES),
        stays("project_id", PROJECT_STAGES),
        big_list,
        big_total,
    ]
    return [(statement, p) for statement in statements]


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

    from app.auth.models import Role, User
    from app.cockpit.services import Scope, build_cockpit, forget_figures
    from app.core.timeutil import today_local
    from app.extensions import db
    from app.pipeline.flags import load_thresholds
    from app.pipeline.models import ContactLog, Project
    from app.pipeline.stats import REPORT_TIERS
    from bench.run import Floor, production_app

    app = production_app(args.database_url)
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
        tiers = {tier: int(thresholds.floor(tier) * 100_000_000) for tier in REPORT_TIERS}
        whole = page_floor(
            args.database_url.startswith("sqlite"), scope.start, scope.end, today, tiers
        )
        runner = Floor(args.database_url)
        rows.append(
            (
                "floor: every figure set of the page, hand-written",
                timed(lambda: runner.run(whole), args.runs),
                len(whole),
            )
        )

        def service(user: Any) -> Callable[[], Any]:
            def build() -> None:
                forget_figures()
                build_cockpit(db.session, user, scope, thresholds, today)

            return build

        rows.append(
            ("build_cockpit (leader), figures computed", timed(service(leader), args.runs), None)
        )
        statements: list[str] = []

        def count(*_a: Any) -> None:
            statements.append("x")

        # The cockpit's figures are computed once per state of the data ("computed": as the
        # first view after any change of a record; "kept": every further view until then).
        for who, user in (("leader", leader), ("manager", manager)):
            client = app.test_client()
            client.post("/login", data={"username": user.username, "password": "Bench@2026"})
            views = (("/cockpit/", False), ("/cockpit/", True), ("/cockpit/chains", None))
            for path, kept in views:

                def get(path: str = path, client: Any = client, kept: Any = kept) -> None:
                    g.pop("thresholds", None)
                    if kept is False:
                        forget_figures()
                    response = client.get(path)
                    assert response.status_code == 200, response.status_code

                get()
                event.listen(db.engine, "before_cursor_execute", count)
                statements.clear()
                get()
                event.remove(db.engine, "before_cursor_execute", count)
                name = f"GET {path} ({who})"
                if kept is not None:
                    name += ", figures kept" if kept else ", figures computed"
                rows.append((name, timed(get, args.runs), len(statements)))

    base = statistics.median(rows[0][1])
    page_base = statistics.median(rows[1][1])
    dialect = (
        "SQLite " + sqlite3.sqlite_version
        if args.database_url.startswith("sqlite")
        else "PostgreSQL"
    )
    when = dt.datetime.now()
    lines = [
        f"# Cockpit benchmark, {when.isoformat(timespec='seconds')}",
        "",
        f"- machine: {platform.platform()}, {platform.machine()}, "
        f"{__import__('os').cpu_count()} CPUs, Python {platform.python_version()}",
        f"- database: {dialect}; {projects:,} projects, {contacts:,} contact-log rows",
        f"- runs: {args.runs} after one warm-up",
        "",
        "| path | median ms | p95 ms | SQL statements | × one-statement floor | × page floor |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, times, queries in rows:
        median = statistics.median(times)
        p95 = percentile(times, 0.95)
        lines.append(
            f"| {name} | {median * 1000:.1f} | {p95 * 1000:.1f} | {queries or '—'} "
            f"| {median / base:.1f} | {median / page_base:.1f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    suffix = "sqlite" if args.database_url.startswith("sqlite") else "postgresql"
    write_result(text, "cockpit", when, suffix, args.output)


if __name__ == "__main__":
    main()
