"""Benchmark: the lead and project lists under many filter combinations, to find the slow ones.

    python -m bench.list_sweep --database-url sqlite:////tmp/district.sqlite3 [--combos 200]

The runner (bench/run.py) measures a few chosen list pages against their SQL floor; a user
combines the filters freely (park, stage, tier, chain or link, owner, 久未联系, 超期, a dated event
in a range, a stage reached, a search word), as a leader, a park manager or an officer, and one
slow combination is enough to make the list feel slow. This tool draws ``--combos`` random
combinations (``--seed``: the same ones every run), requests each ``--runs`` times through the
WSGI app as production runs it, and reports the distribution of their medians (median, p90,
p99, slowest), each against the empty page of the same run (a logged-in page with the layout and
no data: what any page costs), the statements per request, and the slowest combinations with
their URLs. Requests only read: any copy of the generated district will do. Writes
``bench/results/list_sweep-<date>-<HHMM>-<sqlite|postgresql>.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench import RESULTS, percentile, write_result

ROOT = Path(__file__).resolve().parent.parent
WORDS = ("科技", "半导体", "新材料", "氢能", "显示", "有限公司", "项目", "芯片", "洽谈1")
SLOWEST = 15


def combinations(reference: dict[str, list[Any]], count: int, seed: int) -> list[tuple[str, str]]:
    """*count* (role, URL) pairs, each filter set with its own chance."""
    rng = random.Random(seed)  # noqa: S311 (a reproducible mix, not secrets)
    drawn = []
    for _ in range(count):
        args: dict[str, Any] = {}
        if rng.random() < 0.4:
            args["park"] = rng.choice(reference["parks"])
        if rng.random() < 0.4:
            args["stage"] = rng.choice(reference["stages"])
        if rng.random() < 0.3:
            args["tier"] = rng.choice(("yi", "major", "big"))
        if rng.random() < 0.2:
            args["stale"] = 1
        if rng.random() < 0.2:
            args["too_long"] = 1
        if rng.random() < 0.2:
            args["chain"] = rng.choice(reference["chains"])
        elif rng.random() < 0.2:
            args["link"] = rng.choice(reference["links"])
        if rng.random() < 0.2:
            args["owner"] = rng.choice(reference["owners"])
        if rng.random() < 0.2:
            year = rng.randint(2021, 2026)
            args["event"] = rng.choice(reference["events"])
            args["from"], args["to"] = f"{year}-01-01", f"{year}-{rng.randint(1, 12):02d}-28"
        if rng.random() < 0.15:
            args["reached"] = rng.choice(reference["stages"])
        if rng.random() < 0.15:
            args["q"] = rng.choice(WORDS)
        role = rng.choice(("leader", "manager", "officer"))
        drawn.append((role, f"/{rng.choice(('leads', 'projects'))}?{urlencode(args)}"))
    return drawn


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--combos", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3, help="requests per combination")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--output", type=Path, default=RESULTS, help="folder for the result")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))

    from sqlalchemy import event, select

    from app.auth.models import Role, User
    from app.extensions import db
    from app.parks.models import Chain, ChainLink, Park
    from app.pipeline.lifecycle import Stage
    from app.pipeline.models import Lead
    from app.pipeline.queries import DATED_EVENTS
    from bench.run import EMPTY_PAGE, PASSWORD, add_empty_page, production_app

    app = production_app(args.database_url)
    add_empty_page(app)

    with app.app_context():
        s = db.session
        usernames = {
            role.value: s.scalars(
                select(User.username).where(User.role == role, User.active).limit(1)
            ).one()
            for role in (Role.LEADER, Role.MANAGER, Role.OFFICER)
        }
        reference = {
            "parks": list(s.scalars(select(Park.id))),
            "chains": list(s.scalars(select(Chain.id))),
            "links": list(s.scalars(select(ChainLink.id))),
            "owners": list(s.scalars(select(Lead.owner_id).distinct().limit(50))),
            "stages": [stage.value for stage in Stage],
            "events": [stage.value for stage in DATED_EVENTS],
        }
        engine = db.engine
        s.rollback()
    clients = {}
    for role, username in usernames.items():
        client = app.test_client()
        response = client.post("/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 302, (role, response.status_code)
        clients[role] = client
    statements = [0]

    def count(*_a: Any) -> None:
        statements[0] += 1

    def measure(role: str, url: str) -> tuple[float, int]:
        times = []
        clients[role].get(url)  # warm-up
        statements[0] = 0
        event.listen(engine, "before_cursor_execute", count)
        try:
            for _ in range(args.runs):
                started = time.perf_counter()
                response = clients[role].get(url)
                times.append(time.perf_counter() - started)
                assert response.status_code == 200, (url, response.status_code)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return statistics.median(times) * 1000, round(statements[0] / args.runs)

    empty, _ = measure("leader", EMPTY_PAGE)
    found = [
        (*measure(role, url), role, url)
        for role, url in combinations(reference, args.combos, args.seed)
    ]
    write_report(args, found, empty)


def write_report(
    args: argparse.Namespace, found: list[tuple[float, int, str, str]], empty: float
) -> None:
    database = "sqlite" if args.database_url.startswith("sqlite") else "postgresql"
    load = os.getloadavg()
    when = dt.datetime.now()
    medians = [ms for ms, *_ in found]
    lines = [
        f"# List filter sweep, {when.isoformat(timespec='seconds')}",
        "",
        f"- machine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; load average at the end {load[0]:.2f} / {load[1]:.2f} / "
        f"{load[2]:.2f}",
        f"- database: {database} ({args.database_url.rsplit('/', 1)[-1]})",
        f"- {len(found)} random filter combinations (seed {args.seed}), as a leader, a park "
        f"manager or an officer; each the median of {args.runs} requests after one warm-up",
        f"- the empty page (login, layout, no data) of the same run: {empty:.1f} ms",
        "",
        "| of the combinations | ms | × empty page |",
        "|---|---:|---:|",
    ]
    for label, value in (
        ("median", statistics.median(medians)),
        ("p90", percentile(medians, 0.9)),
        ("p99", percentile(medians, 0.99)),
        ("slowest", max(medians)),
    ):
        lines.append(f"| {label} | {value:.1f} | {value / empty:.1f} |")
    over = sum(1 for ms in medians if ms >= 50)
    lines += [
        "",
        f"Over 50 ms (the list pages' target): {over} of {len(found)}.",
        "",
        f"The {SLOWEST} slowest:",
        "",
        "| ms | statements | as | URL |",
        "|---:|---:|---|---|",
    ]
    for ms, statements, role, url in sorted(found, reverse=True)[:SLOWEST]:
        lines.append(f"| {ms:.1f} | {statements} | {role} | `{url}` |")
    text = "\n".join(lines) + "\n"
    print(text)
    write_result(text, "list_sweep", when, database, args.output)


if __name__ == "__main__":
    main()
