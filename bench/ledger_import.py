"""Benchmark: import a generated 50,000-row project ledger, next to two floors of the same run.

    python -m bench.ledger_import [--rows 50000] [--database-url URL] [--floor-database-url URL]

APP: the project's importer (read_ledger, plan_import, apply_import) as an admin, on a fresh
database migrated with ``flask_migrate.upgrade`` and seeded with the demo data (``load_demo``).

FLOOR A, "ledger rows into a scratch table": read the file with python-calamine alone, then insert
the ledger's rows (twelve text columns) into a scratch table without indexes with one
``executemany``.

FLOOR B, "the same database rows the import writes, into the same tables": after the application's
import every row it wrote is read back with plain SQL (by id, in every table whose row count
changed); a second fresh database, migrated and seeded as the application's (same indexes,
constraints, foreign keys, triggers), then receives exactly those rows, ids included: the same
calamine read, then one ``executemany`` per table in dependency order, in one transaction.

Both floors use the plain driver (sqlite3 or psycopg) on a connection configured by the
application's own connection hooks (SQLite pragmas, PostgreSQL settings) and commit once. Prints
rows per second and the ratios to both floors, and writes a Markdown table to
``bench/results/ledger_import-<date>-<sqlite|postgresql>.md``.

Without --database-url everything uses new SQLite files in a temporary directory. A PostgreSQL
URL must name an empty scratch database (it is migrated and filled with demo data; floor A's
scratch table is created and dropped there). Floor B uses --floor-database-url, another empty
scratch database, or without it creates ``<name>_floor`` on the same server and drops it at the
end.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import RESULTS, write_result

ROOT = Path(__file__).resolve().parent.parent

HEADERS = [
    "序号",
    "项目名称",
    "企业名称",
    "统一社会信用代码",
    "所属园区",
    "总投资（万元）",
    "项目进展",
    "签约时间",
    "开工时间",
    "投产时间",
    "招商专员",
    "备注",
]
PARKS = ["集成电路产业园", "新型显示产业园", "绿色低碳新材料产业园", "氢能与储能产业园", "MARINE"]
OFFICERS = ["张伟", "李娜", "陈晓东"]
PRODUCTS = ["芯片设计", "晶圆制造", "封装测试", "偏光片", "玻璃基板", "氢燃料电池", "储能电站"]
SUFFIXES = ["科技有限公司", "股份有限公司", "（青岛）有限公司", "集团有限公司"]
STAGES = ["在谈", "签约", "已开工", "投产"]
EXCEL_EPOCH = dt.date(1899, 12, 30)


def credit_code(n: int) -> str:
    """A valid unified social credit code numbered *n*."""
    from app.enterprises.credit_code import check_character

    first17 = f"91370211MA{n:07d}"
    return first17 + check_character(first17)


def written_date(day: dt.date, rng: random.Random) -> Any:
    """A date as ledgers write it: a real date, text in several styles or an Excel serial."""
    style = rng.randrange(5)
    if style == 0:
        return day
    if style == 1:
        return f"{day.year}.{day.month}.{day.day}"
    if style == 2:
        return f"{day.year}/{day.month:02d}/{day.day:02d}"
    if style == 3:
        return f"{day.year}年{day.month}月{day.day}日"
    return (day - EXCEL_EPOCH).days


def ledger_rows(count: int, seed: int = 20260101) -> list[list[Any]]:
    """Realistic data rows: 万元 amounts (some as text), mixed dates, stages with their dates."""
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    rows = []
    for n in range(1, count + 1):
        stage_index = rng.randrange(len(STAGES))
        signed = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(2000))
        started = signed + dt.timedelta(days=rng.randrange(30, 200))
        producing = started + dt.timedelta(days=rng.randrange(100, 400))
        amount_wan = rng.choice([500, 3000, 12000, 35000, 80000, 150000, 600000]) + n % 97
        amount: Any = amount_wan if n % 4 else f"{amount_wan}万"
        rows.append(
            [
                n,
                f"{rng.choice(PRODUCTS)}项目（{n}期）",
                f"青岛第{n}号{rng.choice(SUFFIXES)}",
                credit_code(n),
                rng.choice(PARKS),
                amount,
                STAGES[stage_index],
                written_date(signed, rng) if stage_index >= 1 else None,
                written_date(started, rng) if stage_index >= 2 else None,
                written_date(producing, rng) if stage_index >= 3 else None,
                rng.choice(OFFICERS),
                "基准测试生成" if n % 10 == 0 else None,
            ]
        )
    return rows


def write_ledger(path: Path, rows: list[list[Any]]) -> None:
    """Write the ledger like an office keeps it: title row, header row, data (write-only)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("项目台账")
    sheet.append(["2026年重点招商项目台账（基准测试）"])
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    workbook.save(path)


# --- connections ---------------------------------------------------------------------------


def _is_postgresql(url: str | None) -> bool:
    return bool(url) and url.split(":", 1)[0].startswith("postgres")


def _sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy form of *url* (psycopg 3 for PostgreSQL); never reads DATABASE_URL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _psycopg_url(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def settings_engine(url: str) -> Any:
    """An engine whose new connections get the application's settings (as ``create_app`` does):
    on SQLite foreign keys, WAL journal, ``synchronous=FULL``, a busy timeout and explicit
    transactions; on PostgreSQL JIT off unless configured."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from app.core.postgresql import configure_postgresql
    from app.core.sqlite import enable_sqlite_pragmas
    from config import Config

    engine = create_engine(_sqlalchemy_url(url), poolclass=NullPool)
    if engine.dialect.name == "sqlite":
        enable_sqlite_pragmas(engine)
    elif engine.dialect.name == "postgresql":
        configure_postgresql(engine, jit=Config.POSTGRES_JIT)
    return engine


@contextmanager
def plain_connection(engine: Any) -> Iterator[Any]:
    """The DBAPI connection (sqlite3 or psycopg) of a new connection of *engine*, its hooks run."""
    pooled = engine.raw_connection()
    try:
        yield pooled.driver_connection
    finally:
        pooled.close()


def _begin(conn: Any) -> None:
    """Open a transaction as the application does (its SQLite connections emit BEGIN)."""
    if isinstance(conn, sqlite3.Connection) and conn.isolation_level is None:
        conn.execute("BEGIN")


def settle(engine: Any) -> None:
    """On PostgreSQL, ``VACUUM ANALYZE`` the database and ``CHECKPOINT`` (untimed): autovacuum
    then finds nothing to do there during a timed part of the run (it would after the seeding or
    a large import), and the next timed part does not start with the server still writing out
    the pages of the previous one."""
    if engine.dialect.name != "postgresql":
        return
    import psycopg

    with plain_connection(engine) as conn:
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        # A role without pg_checkpoint leaves it to the server.
        with suppress(psycopg.errors.InsufficientPrivilege):
            conn.execute("CHECKPOINT")
        conn.autocommit = False


def _mark(conn: Any) -> str:
    return "?" if isinstance(conn, sqlite3.Connection) else "%s"


def connection_settings(conn: Any) -> str:
    """The settings that decide what a commit costs, as the connection reports them."""
    if isinstance(conn, sqlite3.Connection):
        names = ("journal_mode", "synchronous", "foreign_keys")
        values = [conn.execute(f"PRAGMA {name}").fetchone()[0] for name in names]
        values[1] = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(values[1], values[1])
        return ", ".join(f"{n}={v}" for n, v in zip(names, values, strict=True)) + (
            ", BEGIN … COMMIT" if conn.isolation_level is None else ""
        )
    names = ("jit", "synchronous_commit", "fsync")
    values = [conn.execute(f"SHOW {name}").fetchone()[0] for name in names]
    conn.rollback()
    return ", ".join(f"{n}={v}" for n, v in zip(names, values, strict=True))


# --- the floors ----------------------------------------------------------------------------


@dataclass
class FloorTiming:
    rows: int  # ledger rows
    read: float  # the calamine read (and, for floor A, turning cells into text)
    insert: float  # the executemany statements and the commit
    cpu: float  # CPU seconds of this process
    settings: str
    tables: dict[str, tuple[int, float]] = field(default_factory=dict)  # rows, executemany s
    commit: float = 0.0
    exact: str = ""  # floor B: whether its database ended up with the application's rows
    analyze: float | None = None  # floor B on PostgreSQL: ANALYZE of the written tables, after

    @property
    def seconds(self) -> float:
        return self.read + self.insert

    @property
    def written(self) -> int:
        return sum(rows for rows, _ in self.tables.values())


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime | dt.time | dt.timedelta):
        return str(value)
    return value


def read_with_calamine(path: Path) -> list[list[Any]]:
    import python_calamine

    return python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()


def floor_a(path: Path, url: str) -> FloorTiming:
    """Floor A: calamine read, then one executemany of the ledger rows into a scratch table."""
    columns = ", ".join(f"c{i} TEXT" for i in range(len(HEADERS)))
    engine = settings_engine(url)
    with plain_connection(engine) as conn:
        marks = ", ".join(_mark(conn) for _ in HEADERS)
        conn.execute("DROP TABLE IF EXISTS bench_floor")
        conn.execute(f"CREATE TABLE bench_floor ({columns})")
        conn.commit()
        settings = connection_settings(conn)
        start, cpu = time.perf_counter(), time.process_time()
        table = read_with_calamine(path)
        data = [tuple(_plain(v) for v in row) for row in table[2:]]
        read_done = time.perf_counter()
        cursor = conn.cursor()
        _begin(conn)
        cursor.executemany(f"INSERT INTO bench_floor VALUES ({marks})", data)
        inserted = time.perf_counter()
        conn.commit()
        done, cpu = time.perf_counter(), time.process_time() - cpu
        conn.execute("DROP TABLE bench_floor")
        conn.commit()
    engine.dispose()
    return FloorTiming(
        len(data),
        read_done - start,
        done - read_done,
        cpu,
        settings,
        {"bench_floor": (len(data), inserted - read_done)},
        done - inserted,
    )


@dataclass
class Written:
    """The rows an import wrote, per table in dependency order, as the plain driver reads them."""

    before: dict[str, tuple[int, int]]  # table -> (row count, largest id) before the import
    after: dict[str, tuple[int, int]]
    tables: list[tuple[str, list[str], list[tuple[Any, ...]]]]  # (table, columns, rows)
    kept: dict[str, list[tuple[Any, ...]]]  # the rows before, of tables without ids

    @property
    def count(self) -> int:
        return sum(len(rows) for _, _, rows in self.tables)


def table_state(conn: Any, tables: list[Any]) -> dict[str, tuple[int, int]]:
    """(row count, largest id or 0) of every table of the application's schema."""
    out = {}
    for table in tables:
        largest = "COALESCE(MAX(id), 0)" if "id" in table.c else "0"
        row = conn.execute(f'SELECT COUNT(*), {largest} FROM "{table.name}"').fetchone()
        out[table.name] = (int(row[0]), int(row[1]))
    if not isinstance(conn, sqlite3.Connection):
        conn.rollback()
    return out


def _rows_after(
    conn: Any, table: str, after_id: int | None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The rows of *table* above id *after_id* (all rows of a table without ids: None)."""
    cursor = conn.cursor()
    if after_id is None:
        cursor.execute(f'SELECT * FROM "{table}"')
    else:
        cursor.execute(f'SELECT * FROM "{table}" WHERE id > {int(after_id)} ORDER BY id')
    columns = [d[0] for d in cursor.description]
    rows = [tuple(row) for row in cursor.fetchall()]
    if after_id is None:
        rows.sort()
    if not isinstance(conn, sqlite3.Connection):
        conn.rollback()
    return columns, rows


def rows_without_ids(conn: Any, tables: list[Any]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables without an id column (the names' pairs), sorted."""
    return {t.name: _rows_after(conn, t.name, None)[1] for t in tables if "id" not in t.c}


def capture_written(
    conn: Any,
    tables: list[Any],
    before: dict[str, tuple[int, int]],
    kept: dict[str, list[tuple[Any, ...]]],
) -> Written:
    """Read back every row written since *before*: the new rows of each table whose count grew.

    Every table the import may write has an integer id drawn in increasing order, and nothing
    else writes to the benchmark's database, so "id above the largest before" is exact; of a
    table without ids (the names' pairs), the rows not in *kept* (its rows before). A table that
    changed otherwise (fewer rows, or rows lost) stops the benchmark.
    """
    after = table_state(conn, tables)
    captured = []
    for table in tables:
        (count_before, id_before), (count_after, _) = before[table.name], after[table.name]
        if count_after == count_before:
            continue
        if count_after < count_before:
            raise RuntimeError(f"cannot capture what the import did to table {table.name}")
        if "id" in table.c:
            columns, rows = _rows_after(conn, table.name, id_before)
        else:
            columns, rows = _rows_after(conn, table.name, None)
            left = collections.Counter(rows)
            left.subtract(kept[table.name])
            rows = sorted(left.elements())
        if len(rows) != count_after - count_before:
            raise RuntimeError(f"table {table.name}: rows changed below the new ids")
        captured.append((table.name, columns, rows))
    return Written(before, after, captured, kept)


def floor_b(path: Path, url: str, written: Written) -> FloorTiming:
    """Floor B: the calamine read, then the rows the import wrote, into a fresh database."""
    app = bench_app(url)
    with app.app_context():
        from app.extensions import db

        migrate_and_seed()
        tables = list(db.metadata.sorted_tables)
        with plain_connection(db.engine) as conn:
            state = table_state(conn, tables)
            if state != written.before:
                differ = sorted(t for t in state if state[t] != written.before[t])
                raise RuntimeError(f"floor B's database is not seeded as the app's: {differ}")
            mark = _mark(conn)
            statements = [
                (name, _insert_statement(name, columns, mark), rows)
                for name, columns, rows in written.tables
            ]
            settings = connection_settings(conn)
            per_table: dict[str, tuple[int, float]] = {}
            start, cpu = time.perf_counter(), time.process_time()
            table = read_with_calamine(path)
            read_done = time.perf_counter()
            cursor = conn.cursor()
            _begin(conn)
            for name, sql, rows in statements:
                began = time.perf_counter()
                cursor.executemany(sql, rows)
                per_table[name] = (len(rows), time.perf_counter() - began)
            inserted = time.perf_counter()
            conn.commit()
            done, cpu = time.perf_counter(), time.process_time() - cpu
            exact = _same_rows(conn, tables, written)
            analyze = None
            if not isinstance(conn, sqlite3.Connection):
                # apply_import ends a large import with ANALYZE (in its timed part): the same here,
                # measured apart and outside floor B.
                began = time.perf_counter()
                for name, _, _ in written.tables:
                    conn.execute(f'ANALYZE "{name}"')
                conn.commit()
                analyze = time.perf_counter() - began
        db.session.remove()
        db.engine.dispose()
    return FloorTiming(
        len(table) - 2,
        read_done - start,
        done - read_done,
        cpu,
        settings,
        per_table,
        done - inserted,
        exact,
        analyze,
    )


def _same_rows(conn: Any, tables: list[Any], written: Written) -> str:
    """Whether floor B's database now holds exactly what the application's did after the import."""
    if table_state(conn, tables) != written.after:
        return "NO: the tables' row counts differ"
    for name, columns, rows in written.tables:
        if "id" in columns:
            got_columns, got = _rows_after(conn, name, written.before[name][1])
        else:
            got_columns, got = _rows_after(conn, name, None)
            rows = sorted(written.kept[name] + rows)
        if got_columns != columns or got != rows:
            return f"NO: the rows of {name} differ"
    return "yes (every table's row count and largest id, and every written row, compared)"


def _insert_statement(table: str, columns: list[str], mark: str) -> str:
    names = ", ".join(f'"{column}"' for column in columns)
    marks = ", ".join(mark for _ in columns)
    return f'INSERT INTO "{table}" ({names}) VALUES ({marks})'


@contextmanager
def floor_database(app_url: str | None, given: str | None, work: Path) -> Iterator[str]:
    """The URL of floor B's empty database: *given*, a new SQLite file, or ``<name>_floor``."""
    if given:
        yield given
        return
    if not _is_postgresql(app_url):
        yield f"sqlite:///{work / 'floor_b.sqlite3'}"
        return
    import psycopg
    from sqlalchemy import make_url

    server = make_url(_sqlalchemy_url(app_url))
    name = f"{server.database}_floor"
    with psycopg.connect(_psycopg_url(app_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_psycopg_url(app_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the application ------------------------------------------------------------------------


def bench_app(url: str) -> Any:
    """The application on *url*; as in production, no per-statement query recording."""
    from app import create_app

    migrations = str(ROOT / "migrations")
    return create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=_sqlalchemy_url(url),
        MIGRATIONS_DIR=migrations,
        SQLALCHEMY_RECORD_QUERIES=False,
    )


def migrate_and_seed() -> None:
    """Migrate the application's (empty) database, load the demo data, commit and settle."""
    from flask_migrate import upgrade

    from app.demo.cli import load_demo
    from app.extensions import db

    upgrade(directory=str(ROOT / "migrations"))
    load_demo(db.session)
    db.session.commit()
    db.session.remove()
    settle(db.engine)


@dataclass
class AppTiming:
    rows: int
    read: float
    plan: float
    apply: float
    counts: dict[str, int]
    errors: list[str]
    cpu: float  # CPU seconds of this process for read + plan + apply
    settings: str
    written: Written
    replan: float  # the dry run of the same file once it is imported (everything "skip")
    replan_counts: dict[str, int]
    export: dict[str, tuple[int, float]]  # format -> (bytes, seconds) of exporting all projects

    @property
    def total(self) -> float:
        return self.read + self.plan + self.apply


def app_import(path: Path, url: str) -> AppTiming:
    """Import the ledger through the application as an admin on a fresh, migrated database."""
    from sqlalchemy import select

    from app.auth.models import Role, User
    from app.extensions import db
    from app.ledger.exporter import export_ledger
    from app.ledger.importer import apply_import, plan_import, read_ledger
    from app.pipeline.queries import ListFilters

    app = bench_app(url)
    with app.app_context(), app.test_request_context():
        migrate_and_seed()
        tables = list(db.metadata.sorted_tables)
        with plain_connection(db.engine) as conn:
            before = table_state(conn, tables)
            kept = rows_without_ids(conn, tables)
            settings = connection_settings(conn)
        admin = db.session.scalars(select(User).where(User.role == Role.ADMIN)).first()
        data = path.read_bytes()
        import pandas  # noqa: F401  (a running server has it loaded; its import is not timed)

        limits = {
            "max_bytes": max(app.config["LEDGER_MAX_BYTES"], len(data) + 1),
            "max_rows": max(app.config["LEDGER_MAX_ROWS"], 10**7),
            "max_uncompressed": max(app.config["LEDGER_MAX_UNCOMPRESSED_BYTES"], 2 * 10**9),
        }
        start, cpu = time.perf_counter(), time.process_time()
        parsed = read_ledger(data, path.name, **limits)
        read_done = time.perf_counter()
        plan = plan_import(db.session, admin, parsed)
        plan_done = time.perf_counter()
        errors = [f"第{r.number}行：{r.message}" for r in plan.rows if r.outcome == "error"][:10]
        if not plan.has_errors:
            apply_import(db.session, admin, plan)
            db.session.commit()
        apply_done, cpu = time.perf_counter(), time.process_time() - cpu
        counts = dict(plan.counts)
        db.session.remove()
        # Untimed: what the import wrote, for floor B.
        with plain_connection(db.engine) as conn:
            written = capture_written(conn, tables, before, kept)
        admin = db.session.scalars(select(User).where(User.role == Role.ADMIN)).first()
        again_started = time.perf_counter()
        again = plan_import(db.session, admin, read_ledger(data, path.name, **limits))
        replan = time.perf_counter() - again_started
        replan_counts = dict(again.counts)
        export = {}
        for fmt in ("xlsx", "csv"):
            started = time.perf_counter()
            content = export_ledger(db.session, admin, "projects", ListFilters(), fmt)
            export[fmt] = (len(content), time.perf_counter() - started)
        db.session.remove()
        settle(db.engine)  # before floor B runs on the same server
        db.engine.dispose()
    return AppTiming(
        len(parsed.rows),
        read_done - start,
        plan_done - read_done,
        apply_done - plan_done,
        counts,
        errors,
        cpu,
        settings,
        written,
        replan,
        replan_counts,
        export,
    )


# --- report --------------------------------------------------------------------------------

FLOOR_A = "floor A: ledger rows into a scratch table"
FLOOR_B = "floor B: the same database rows the import writes, into the same tables"
TARGET = 3.0


def _load(values: tuple[float, float, float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def describe_database(url: str | None) -> str:
    if _is_postgresql(url):
        import psycopg

        with psycopg.connect(_psycopg_url(url)) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        return f"PostgreSQL {version}"
    return f"SQLite {sqlite3.sqlite_version} (temporary file)"


def _tables(floor: FloorTiming) -> str:
    parts = [
        f"{name} {rows:,} rows {seconds:.2f}s" for name, (rows, seconds) in floor.tables.items()
    ]
    return "; ".join([*parts, f"commit {floor.commit:.2f}s"])


def report(
    args: Any,
    when: dt.datetime,
    database: str,
    loads: tuple[tuple[float, float, float], tuple[float, float, float]],
    a: FloorTiming,
    b: FloorTiming | None,
    timing: AppTiming | None,
    failure: str,
) -> list[str]:
    """The Markdown result: both floors, the application's parts, the ratios and the target."""
    lines = [
        f"# Ledger import benchmark, {when.isoformat(timespec='seconds')}",
        "",
        f"- machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        f"- database: {database}",
        f"- ledger: {args.rows} data rows (.xlsx with title row, 万元 amounts, mixed dates)",
        f"- load average (1, 5, 15 min) before: {_load(loads[0])}; after: {_load(loads[1])} "
        "(other work on the machine slows every path; CPU seconds are below)",
        f"- {FLOOR_A}: python-calamine reads the file, then one `executemany` puts the "
        f"{a.rows:,} ledger rows (twelve text columns) into a table without indexes",
    ]
    if b is not None:
        lines.append(
            f"- {FLOOR_B}: the same calamine read, then one `executemany` per table of the "
            f"{b.written:,} rows the application's import wrote (read back after it, ids "
            "included), in dependency order and one transaction, into a second fresh database "
            "migrated and seeded as the application's (same indexes, constraints, foreign keys, "
            "triggers)"
        )
    lines.append(
        f"- both floors: the plain driver on a connection set up by the application's own "
        f"connection hooks ({a.settings}), one commit"
        + (f"; the application's connection: {timing.settings}" if timing is not None else "")
    )
    header = "| path | ledger rows | seconds | ledger rows/s | × floor A | × floor B |"
    lines += ["", header, "|---|---:|---:|---:|---:|---:|"]

    def line(name: str, rows: int, seconds: float) -> str:
        ratio_b = f"{seconds / b.seconds:.2f}" if b is not None else "—"
        return (
            f"| {name} | {rows} | {seconds:.2f} | {rows / seconds:,.0f} "
            f"| {seconds / a.seconds:.2f} | {ratio_b} |"
        )

    lines.append(line(FLOOR_A, a.rows, a.seconds))
    if b is not None:
        lines.append(line(FLOOR_B, b.rows, b.seconds))
    if timing is not None:
        for name, seconds in (
            ("app: read_ledger", timing.read),
            ("app: plan_import (dry run)", timing.plan),
            ("app: apply_import + commit", timing.apply),
        ):
            lines.append(line(name, timing.rows, seconds))
        lines.append(line("**app: total**", timing.rows, timing.total))
    lines += [
        "",
        f"- {FLOOR_A}: read {a.read:.2f}s (with the cells turned into text), insert {_tables(a)}",
    ]
    if b is not None:
        lines += [
            f"- {FLOOR_B}: read {b.read:.2f}s, insert {b.insert:.2f}s of "
            f"{b.written:,} rows ({b.written / b.insert:,.0f} rows/s; "
            f"{b.written / b.rows:.1f} per ledger row): {_tables(b)}",
            f"- floor B's database afterwards holds exactly the application's rows: {b.exact}",
        ]
        if b.analyze is not None:
            lines.append(
                f"- `ANALYZE` of the written tables, which `apply_import` runs at the end of a "
                f"large import on PostgreSQL (so it is in the app's apply, not in floor B): "
                f"{b.analyze:.2f}s on floor B's database afterwards"
            )
    if timing is None:
        return [*lines, "", f"- app path not measured: {failure}"]
    cpus = [f"floor A {a.cpu:.2f}"]
    if b is not None:
        cpus.append(f"floor B {b.cpu:.2f}")
    cpus.append(f"app {timing.cpu:.2f} ({timing.cpu / a.cpu:.2f}× floor A's")
    if b is not None:
        cpus[-1] += f", {timing.cpu / b.cpu:.2f}× floor B's"
    cpus[-1] += ")"
    lines += [
        "- CPU seconds of this process (a PostgreSQL server's work is not in them): "
        + ", ".join(cpus),
        f"- plan outcomes: {timing.counts}",
        f"- dry run of the same file again, once imported: {timing.replan:.2f}s, "
        f"outcomes {timing.replan_counts}",
    ]
    count = timing.counts.get("create", 0)
    for fmt, (size, seconds) in timing.export.items():
        lines.append(
            f"- export of the {count} imported projects as {fmt}: {seconds:.2f}s "
            f"({count / seconds:,.0f} rows/s, {size / 1e6:.1f} MB)"
        )
    if timing.errors:
        lines += ["- the plan had errors, so nothing was applied; first ones:"]
        lines += [f"  - {e}" for e in timing.errors]
    ok = not timing.errors
    ratio_a = timing.total / a.seconds
    if b is not None:
        ratio_b = timing.total / b.seconds
        met = "met" if ratio_b <= TARGET and ok else "NOT met"
        lines.append(
            f"- **target** (the full dry run plus apply within {TARGET:g}× the "
            f"floor), judged against {FLOOR_B}: **{ratio_b:.2f}× ({met})**"
        )
    met_a = "met" if ratio_a <= TARGET and ok else "NOT met"
    lines.append(
        f"- the same target against {FLOOR_A} (the reading this benchmark began with): "
        f"{ratio_a:.2f}× ({met_a})"
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50000)
    parser.add_argument("--database-url", default=None, help="an empty scratch database")
    parser.add_argument(
        "--floor-database-url",
        default=None,
        help="floor B's empty scratch database (default: a new SQLite file, or <name>_floor "
        "created and dropped on the PostgreSQL server of --database-url)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="folder for the result")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))

    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        work = Path(tmp)
        path = work / "ledger.xlsx"
        started = time.perf_counter()
        write_ledger(path, ledger_rows(args.rows))
        print(
            f"generated {args.rows} rows ({path.stat().st_size / 1e6:.1f} MB) "
            f"in {time.perf_counter() - started:.1f}s"
        )

        load_before = os.getloadavg()
        app_url = args.database_url or f"sqlite:///{work / 'app.sqlite3'}"
        a = floor_a(path, args.database_url or f"sqlite:///{work / 'floor_a.sqlite3'}")
        print(f"{FLOOR_A}: {a.rows} rows in {a.seconds:.2f}s = {a.rows / a.seconds:,.0f} rows/s")

        timing: AppTiming | None = None
        b: FloorTiming | None = None
        failure = ""
        try:
            timing = app_import(path, app_url)
            print(
                f"app: {timing.rows} rows in {timing.total:.2f}s = "
                f"{timing.rows / timing.total:,.0f} rows/s (read {timing.read:.2f}s, "
                f"plan {timing.plan:.2f}s, apply {timing.apply:.2f}s); "
                f"{timing.total / a.seconds:.2f}× floor A; wrote {timing.written.count:,} rows"
            )
            with floor_database(args.database_url, args.floor_database_url, work) as floor_url:
                b = floor_b(path, floor_url, timing.written)
            print(
                f"{FLOOR_B}: {b.rows} ledger rows ({b.written:,} database rows) in "
                f"{b.seconds:.2f}s = {b.rows / b.seconds:,.0f} ledger rows/s; exact: {b.exact}"
            )
            print(
                f"app total {timing.total:.2f}s = {timing.total / b.seconds:.2f}× floor B, "
                f"{timing.total / a.seconds:.2f}× floor A (target: {TARGET:g}× floor B)"
            )
        except ImportError as exc:
            failure = f"the importer is not available: {exc}"
        except Exception as exc:  # report and keep the numbers measured so far
            failure = f"{type(exc).__name__}: {exc}"
        if failure:
            print(f"not measured: {failure}")
        database = describe_database(args.database_url)
        load_after = os.getloadavg()

    when = dt.datetime.now()
    lines = report(args, when, database, (load_before, load_after), a, b, timing, failure)
    if failure and timing is not None:
        lines += ["", f"- floor B not measured: {failure}"]
    kind = "postgresql" if database.startswith("PostgreSQL") else "sqlite"
    target = write_result("\n".join(lines) + "\n", "ledger_import", when, kind, args.output)
    print(f"results written to {target}")
    return 0 if timing is not None and b is not None and b.exact.startswith("yes") else 1


if __name__ == "__main__":
    sys.exit(main())
