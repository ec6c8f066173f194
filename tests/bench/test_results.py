"""Benchmark results are named to the minute: a later run keeps an earlier run's file, even
within the same minute."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bench import write_result


def test_each_run_gets_its_own_file_and_files_sort_by_time(tmp_path: Path) -> None:
    morning = dt.datetime(2026, 11, 27, 9, 5, 30)
    evening = dt.datetime(2026, 11, 27, 21, 55, 2)
    first = write_result("# morning\n", "run", morning, "sqlite", tmp_path)
    second = write_result("# evening\n", "run", evening, "sqlite", tmp_path)
    load = write_result("# load\n", "load", evening, folder=tmp_path)

    assert first.name == "run-2026-11-27-0905-sqlite.md"
    assert second.name == "run-2026-11-27-2155-sqlite.md"
    assert load.name == "load-2026-11-27-2155.md"
    assert first.read_text(encoding="utf-8") == "# morning\n"
    assert sorted(p.name for p in tmp_path.glob("run-*-sqlite.md")) == [first.name, second.name]


def test_the_folder_is_created(tmp_path: Path) -> None:
    folder = tmp_path / "results" / "elsewhere"
    path = write_result("x\n", "cockpit", dt.datetime(2026, 1, 2, 3, 4), "postgresql", folder)
    assert path == folder / "cockpit-2026-01-02-0304-postgresql.md"
    assert path.read_text(encoding="utf-8") == "x\n"


def test_runs_within_one_minute_keep_their_own_files(tmp_path: Path) -> None:
    when = dt.datetime(2026, 11, 28, 3, 57, 10)
    texts = [f"# seed {n}\n" for n in (5, 11, 23)]
    paths = [write_result(text, "list_sweep", when, "sqlite", tmp_path) for text in texts]
    assert [p.name for p in paths] == [
        "list_sweep-2026-11-28-0357-sqlite.md",
        "list_sweep-2026-11-28-0357-sqlite-2.md",
        "list_sweep-2026-11-28-0357-sqlite-3.md",
    ]
    assert [p.read_text(encoding="utf-8") for p in paths] == texts
