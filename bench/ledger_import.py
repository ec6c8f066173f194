"""Benchmark: import a generated 50,000-row project ledger, next to the floor of the same run.

    python -m bench.ledger_import [--rows 50000] [--database-url URL]

FLOOR: read the file with python-calamine alone and insert the same rows into a scratch table
with one ``executemany`` (sqlite3, or psycopg for a PostgreSQL URL). APP: the project's importer
(read_ledger, plan_import, apply_import) as an admin, on a fresh database migrated with
``flask_migrate.upgrade`` and seeded with the demo parks and users. Prints rows per second for
both and their ratio, and writes a Markdown table to ``bench/results/ledger_import-<date>.md``.

Without --database-url both measurements use new SQLite files in a temporary directory. With a
PostgreSQL URL both use that database: it must be an empty scratch database (it is migrated and
filled with demo data; the floor's scratch table is dropped afterwards).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"

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


# --- the floor -----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime | dt.time | dt.timedelta):
        return str(value)
    return value


def floor(path: Path, url: str | None, work: Path) -> tuple[int, float, float]:
    """Read with calamine alone, then one executemany INSERT; (rows, seconds, CPU seconds)."""
    import python_calamine

    columns = ", ".join(f"c{i} TEXT" for i in range(len(HEADERS)))
    marks_sqlite = ", ".join("?" for _ in HEADERS)
    marks_pg = ", ".join("%s" for _ in HEADERS)
    is_pg = bool(url) and url.split(":", 1)[0].startswith("postgres")
    if is_pg:
        import psycopg

        conn: Any = psycopg.connect(_psycopg_url(url))
        conn.execute("DROP TABLE IF EXISTS bench_floor")
        conn.execute(f"CREATE TABLE bench_floor ({columns})")
        conn.commit()
        marks = marks_pg
    else:
        conn = sqlite3.connect(work / "floor.sqlite3")
        conn.execute(f"CREATE TABLE bench_floor ({columns})")
        conn.commit()
        marks = marks_sqlite
    start, cpu = time.perf_counter(), time.process_time()
    table = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    data = [tuple(_plain(v) for v in row) for row in table[2:]]
    cursor = conn.cursor()
    cursor.executemany(f"INSERT INTO bench_floor VALUES ({marks})", data)  # noqa: S608
    conn.commit()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    if is_pg:
        conn.execute("DROP TABLE bench_floor")
        conn.commit()
    conn.close()
    return len(data), seconds, cpu


def _psycopg_url(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


# --- the application ------------------------------------------------------------------------


@dataclass
class AppTiming:
    rows: int
    read: float
    plan: float
    apply: float
    counts: dict[str, int]
    errors: list[str]
    cpu: float  # CPU seconds of this process for read + plan + apply
    replan: float  # the dry run of the same file once it is imported (everything "skip")
    replan_counts: dict[str, int]
    export: dict[str, tuple[int, float]]  # format -> (bytes, seconds) of exporting all projects

    @property
    def total(self) -> float:
        return self.read + self.plan + self.apply


def app_import(path: Path, url: str) -> AppTiming:
    """Import the ledger through the application as an admin on a fresh, migrated database."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from app import create_app
    from app.auth.models import Role, User
    from app.demo.cli import load_demo
    from app.extensions import db
    from app.ledger.exporter import export_ledger
    from app.ledger.importer import apply_import, plan_import, read_ledger
    from app.pipeline.queries import ListFilters
    from config import database_url

    migrations = str(ROOT / "migrations")
    # As in production: no per-statement query recording (the testing config turns it on).
    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=database_url(url),
        MIGRATIONS_DIR=migrations,
        SQLALCHEMY_RECORD_QUERIES=False,
    )
    with app.app_context(), app.test_request_context():
        upgrade(directory=migrations)
        load_demo(db.session)
        db.session.commit()
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
        admin = db.session.scalars(select(User).where(User.role == Role.ADMIN)).first()
        again_started = time.perf_counter()
        again = plan_import(db.session, admin, read_ledger(data, path.name, **limits))
        replan = time.perf_counter() - again_started
        replan_counts = dict(again.counts)
        export = {}
        for fmt in ("xlsx", "csv"):
            started = time.perf_counter()
            written = export_ledger(db.session, admin, "projects", ListFilters(), fmt)
            export[fmt] = (len(written), time.perf_counter() - started)
        db.session.remove()
        db.engine.dispose()
    return AppTiming(
        len(parsed.rows),
        read_done - start,
        plan_done - read_done,
        apply_done - plan_done,
        counts,
        errors,
        cpu,
        replan,
        replan_counts,
        export,
    )


# --- report --------------------------------------------------------------------------------


def _load(values: tuple[float, float, float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def describe_database(url: str | None) -> str:
    if url and url.split(":", 1)[0].startswith("postgres"):
        import psycopg

        with psycopg.connect(_psycopg_url(url)) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        return f"PostgreSQL {version}"
    return f"SQLite {sqlite3.sqlite_version} (temporary file)"


def write_results(lines: list[str], database: str) -> Path:
    RESULTS.mkdir(exist_ok=True)
    kind = "postgresql" if database.startswith("PostgreSQL") else "sqlite"
    target = RESULTS / f"ledger_import-{dt.date.today().isoformat()}-{kind}.md"
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50000)
    parser.add_argument("--database-url", default=None)
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
        floor_rows, floor_seconds, floor_cpu = floor(path, args.database_url, work)
        floor_rate = floor_rows / floor_seconds
        print(f"floor: {floor_rows} rows in {floor_seconds:.2f}s = {floor_rate:,.0f} rows/s")

        app_url = args.database_url or f"sqlite:///{work / 'app.sqlite3'}"
        timing: AppTiming | None = None
        failure = ""
        try:
            timing = app_import(path, app_url)
        except ImportError as exc:
            failure = f"the importer is not available yet: {exc}"
        except Exception as exc:  # report and keep the floor numbers
            failure = f"{type(exc).__name__}: {exc}"
        database = describe_database(args.database_url)
        load_after = os.getloadavg()

    lines = [
        f"# Ledger import benchmark, {dt.datetime.now().isoformat(timespec='seconds')}",
        "",
        f"- machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        f"- database: {database}",
        f"- ledger: {args.rows} data rows (.xlsx with title row, 万元 amounts, mixed dates)",
        f"- load average (1, 5, 15 min) before: {_load(load_before)}; after: {_load(load_after)} "
        "(other work on the machine slows both paths; CPU seconds are below)",
        "",
        "| path | rows | seconds | rows/s | × floor |",
        "|---|---:|---:|---:|---:|",
        f"| floor (calamine read + executemany) | {floor_rows} | {floor_seconds:.2f} "
        f"| {floor_rate:,.0f} | 1.00 |",
    ]
    if timing is not None:
        rate = timing.rows / timing.total
        ratio = timing.total / floor_seconds
        for name, seconds in (
            ("app: read_ledger", timing.read),
            ("app: plan_import (dry run)", timing.plan),
            ("app: apply_import + commit", timing.apply),
        ):
            lines.append(
                f"| {name} | {timing.rows} | {seconds:.2f} | "
                f"{timing.rows / seconds:,.0f} | {seconds / floor_seconds:.2f} |"
            )
        lines.append(
            f"| **app: total** | {timing.rows} | {timing.total:.2f} | {rate:,.0f} "
            f"| **{ratio:.2f}** |"
        )
        cpu_ratio = timing.cpu / floor_cpu
        lines += [
            "",
            f"- CPU seconds of the process: floor {floor_cpu:.2f}, app {timing.cpu:.2f} "
            f"({cpu_ratio:.2f}× the floor)",
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
        lines += [
            "- target: app total within 3× the floor "
            f"({'met' if ratio <= 3 and not timing.errors else 'NOT met'})"
        ]
        print(
            f"app: {timing.rows} rows in {timing.total:.2f}s = {rate:,.0f} rows/s "
            f"(read {timing.read:.2f}s, plan {timing.plan:.2f}s, apply {timing.apply:.2f}s); "
            f"{ratio:.2f}× the floor"
        )
    else:
        lines += ["", f"- app path not measured: {failure}"]
        print(f"app path not measured: {failure}")
    target = write_results(lines, database)
    print(f"results written to {target}")
    return 0 if timing is not None else 1


if __name__ == "__main__":
    sys.exit(main())
