"""The benchmark tools work: generate a tiny district, run the cockpit benchmark and the runner
on it (and, on PostgreSQL, the load test for five seconds); import a tiny ledger with the
ledger-import benchmark and both its floors.

No time is asserted (benchmarks are run by hand, see bench/README.md); this only keeps the tools
from rotting as the schema changes.
"""

from __future__ import annotations

import os
import runpy
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.pool import NullPool

from app.pipeline.lifecycle import MAIN_LINE, standing_days
from app.pipeline.models import Lead, Project
from bench import cockpit, gc_pauses, generate, ledger_import, list_sweep, load, run


def test_generate_and_measure_a_tiny_district(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'district.sqlite3'}"
    counts = generate.generate(url, scale=0.002, seed=7)
    assert counts["lead"] == counts["project"] == 200
    assert counts["contact_log"] == 2000
    engine = create_engine(url)
    with engine.connect() as conn:
        # Stored dates agree with the history and the contact log.
        mismatched = conn.scalar(
            text(
                "SELECT count(*) FROM lead WHERE last_contact_on IS NOT "
                "(SELECT max(contact_on) FROM contact_log WHERE contact_log.lead_id = lead.id)"
            )
        )
        assert mismatched == 0
        stages = conn.scalar(
            text(
                "SELECT count(*) FROM project WHERE stage IS NOT (SELECT to_stage FROM "
                "stage_change WHERE project_id = project.id ORDER BY id DESC LIMIT 1)"
            )
        )
        assert stages == 0
        # The history's facts stored on each record: the opening day, the furthest stage.
        rank = " ".join(f"WHEN '{s.value}' THEN {i}" for i, s in enumerate(MAIN_LINE))
        for table, subject in (("lead", "lead_id"), ("project", "project_id")):
            history = f"FROM stage_change WHERE {subject} = {table}.id"
            differ = conn.scalar(
                text(
                    f"SELECT count(*) FROM {table} WHERE opened_on IS NOT (SELECT min(effective_on)"  # noqa: S608
                    f" {history} AND from_stage IS NULL AND to_stage = 'lead') OR furthest_stage"
                    f" IS NOT (SELECT to_stage {history} AND (CASE to_stage {rank} END) IS NOT"
                    f" NULL ORDER BY CASE to_stage {rank} END DESC LIMIT 1)"
                )
            )
            assert differ == 0, table
        # The stale and too-long days, as the session hook keeps them.
        for model in (Lead, Project):
            rows = conn.execute(
                select(
                    model.stage,
                    model.stage_since,
                    model.last_contact_on,
                    model.stale_on,
                    model.too_long_on,
                )
            ).all()
            assert rows and all(
                standing_days(stage, since, contact) == {"stale_on": s, "too_long_on": t}
                for stage, since, contact, s, t in rows
            ), model
        assert conn.scalar(select(func.count()).select_from(text("stage_change"))) > 400
    engine.dispose()

    out = tmp_path / "results"
    cockpit.main(["--database-url", url, "--runs", "1", "--output", str(out)])
    (result,) = out.glob("cockpit-*-sqlite.md")
    table = result.read_text(encoding="utf-8")
    assert "200 projects" in table
    for kept in ("computed", "kept"):
        assert f"| GET /cockpit/ (leader), figures {kept} |" in table

    # The runner (bench/run.py) on the same tiny district: every path answers, a table is written.
    run.main(["--database-url", url, "--runs", "1", "--slow-runs", "1", "--output", str(out)])
    (result,) = out.glob("run-*-sqlite.md")
    table = result.read_text(encoding="utf-8")
    paths = ("lead list, first page", "park board", "cockpit (leader), figures computed")
    for path in (*paths, "API lead list", "log a contact", "move a stage", "export"):
        assert f"| {path}" in table
    assert "× floor" in table

    # Random filter combinations of the lists (bench/list_sweep.py): each answers 200.
    list_sweep.main(["--database-url", url, "--combos", "12", "--runs", "1", "--output", str(out)])
    (result,) = out.glob("list_sweep-*-sqlite.md")
    report = result.read_text(encoding="utf-8")
    assert "12 random filter combinations" in report
    assert report.count("| `/") == 12  # fewer than SLOWEST: every one listed

    # The collector's pauses (bench/gc_pauses.py): each variant in a process of its own.
    gc_pauses.main(
        ["--database-url", url, "--requests", "6", "--warm-up", "2", "--rounds", "1"]
        + ["--output", str(out)]
    )
    (result,) = out.glob("gc_pauses-*-sqlite.md")
    rows = {
        line.split(" | ")[0].lstrip("| "): line.split(" | ")
        for line in result.read_text(encoding="utf-8").splitlines()
        if line.startswith("| ") and "ms per request" not in line
    }
    assert set(rows) == set(gc_pauses.VARIANTS.values())
    # Column 9: objects frozen; 10: the thresholds.
    assert rows[gc_pauses.VARIANTS["worker"]][9] != "0"
    young = runpy.run_path(str(gc_pauses.GUNICORN_CONF))["GC_YOUNG_THRESHOLD"]
    assert rows[gc_pauses.VARIANTS["worker"]][10].startswith(f"({young},")
    assert rows[gc_pauses.VARIANTS["default"]][9] == "0"


def test_load_test_on_a_tiny_district(tmp_path: Path) -> None:
    """bench/load.py for 5 seconds: gunicorn on PostgreSQL, no 5xx, no lost write."""
    suite = os.environ.get("TEST_DATABASE_URL", "")
    if not suite.startswith("postgresql"):
        pytest.skip("the load test needs PostgreSQL (run `make test-pg`)")
    server_url = make_url(suite).set(drivername="postgresql")
    name = f"bench_tiny_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    server = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        tiny = server_url.set(database=name).render_as_string(hide_password=False)
        generate.generate(tiny, scale=0.002, seed=7)
        code = load.main(
            [
                "--server",
                server_url.render_as_string(hide_password=False),
                "--template",
                name,
                "--seconds",
                "5",
                "--users",
                "5",
                "--workers",
                "2",
                "--output",
                str(tmp_path),
            ]
        )
        (result,) = tmp_path.glob("load-*.md")
        report = result.read_text(encoding="utf-8")
        assert code == 0, report
        assert "server errors (5xx): 0" in report and "lost: 0" in report
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def test_ledger_import_benchmark_on_a_tiny_ledger(tmp_path: Path) -> None:
    """bench/ledger_import.py on 40 rows: floor B gets exactly the rows the import wrote.

    On PostgreSQL (TEST_DATABASE_URL) in a scratch database of its own; the script creates and
    drops floor B's ``<name>_floor`` itself.
    """
    args = ["--rows", "40", "--output", str(tmp_path)]
    suite = os.environ.get("TEST_DATABASE_URL", "")
    server = None
    name = f"bench_ledger_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    if suite.startswith("postgresql"):
        server_url = make_url(suite).set(drivername="postgresql")
        server = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        scratch = server_url.set(database=name).render_as_string(hide_password=False)
        args += ["--database-url", scratch]
    try:
        code = ledger_import.main(args)
        (result,) = tmp_path.glob("ledger_import-*.md")
        report = result.read_text(encoding="utf-8")
        assert code == 0, report
        assert f"| {ledger_import.FLOOR_A} | 40 |" in report
        assert f"| {ledger_import.FLOOR_B} | 40 |" in report
        assert "| **app: total** | 40 |" in report
        assert "holds exactly the application's rows: yes" in report
        assert "judged against floor B" in report
    finally:
        if server is not None:
            with server.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}_floor" WITH (FORCE)'))
            server.dispose()
