"""Benchmark: the garbage collector's pauses in a serving worker, with the collector as Python
sets it and as the gunicorn workers set it (deploy/gunicorn.conf.py), next to the same
requests with the collector off.

    python -m bench.gc_pauses --database-url sqlite:////tmp/district.sqlite3 [--requests 1000]

Each variant runs in a process of its own (a frozen generation cannot be thawed), started in
turn for several rounds so that the machine's drift falls on all of them alike:

- ``Python's defaults``: the collector as a plain process has it;
- ``worker settings``: the hooks of deploy/gunicorn.conf.py called as gunicorn calls them
  (``post_worker_init`` once the app is loaded, ``post_request`` after each request, with the
  request count a worker keeps);
- FLOOR ``collector off``: ``gc.disable()`` once the app is loaded; the same requests cost no
  collection at all (and free no reference cycle, which a server cannot afford).

Each process loads the application as production runs it, logs in a leader and a park manager
through the WSGI app and requests a mix of pages in turn (lead lists: first page, filtered,
search; a lead's record page; the cockpit; the manager's board). Requests only read, so any
copy of the generated district will do. The first ``--warm-up`` requests fill the caches
untimed; then ``--requests`` are timed, and every collection during them is recorded through
``gc.callbacks``. Reports, per variant: milliseconds per request (median over the rounds) and
its ratio to the floor, p99 and longest request, collections per 1,000 requests and the time
they took, the longest single collection, and the process's peak memory. Writes
``bench/results/gc_pauses-<date>-<HHMM>-<sqlite|postgresql>.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import runpy
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench import RESULTS, percentile, write_result

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
VARIANTS = {
    "off": "collector off (floor)",
    "default": "Python's defaults",
    "worker": "worker settings (deploy/gunicorn.conf.py)",
}


def _mix(app: Any) -> list[tuple[str, str]]:
    """The pages requested in turn, as (who, path), read from the district."""
    from sqlalchemy import func, select

    from app.auth.models import Role, User
    from app.enterprises.models import Enterprise
    from app.extensions import db
    from app.pipeline.models import ContactLog, Lead
    from bench.run import busiest_park_stage

    with app.app_context():
        s = db.session
        manager = s.scalars(select(User).where(User.role == Role.MANAGER, User.active).limit(1))
        park_id = min(manager.one().park_ids)
        f_park, f_stage = busiest_park_stage(s)
        leads = s.scalar(select(func.count()).select_from(Lead)) or 1
        name = s.scalar(select(Enterprise.name).order_by(Enterprise.id).offset(leads // 20))
        detail_id = s.scalar(
            select(ContactLog.lead_id)
            .where(ContactLog.lead_id.is_not(None))
            .group_by(ContactLog.lead_id)
            .order_by(func.count().desc())
            .limit(1)
        )
        s.rollback()
    return [
        ("leader", "/leads"),
        ("leader", f"/leads?park={f_park}&stage={f_stage.value}"),
        ("leader", f"/leads?q={(name or '科技')[2:4]}"),
        ("leader", f"/leads/{detail_id}"),
        ("leader", "/cockpit/"),
        ("manager", f"/board?park={park_id}"),
    ]


def child(variant: str, url: str, warm_up: int, requests: int) -> dict[str, Any]:
    """Serve *warm_up* + *requests* requests with the collector set as *variant* says; return
    the timed requests and the collections among them."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import select

    from app.auth.models import Role, User
    from app.extensions import db
    from bench.run import PASSWORD, production_app

    app = production_app(url)
    worker = SimpleNamespace(nr=0)
    hooks: dict[str, Any] = {}
    if variant == "worker":
        hooks = runpy.run_path(str(GUNICORN_CONF))
        hooks["post_worker_init"](worker)
    elif variant == "off":
        gc.disable()

    def served() -> None:
        worker.nr += 1
        if hooks:
            hooks["post_request"](worker, None, None, None)

    clients = {}
    with app.app_context():
        for role in (Role.LEADER, Role.MANAGER):
            username = db.session.scalars(
                select(User.username).where(User.role == role, User.active).limit(1)
            ).one()
            client = app.test_client()
            response = client.post("/login", data={"username": username, "password": PASSWORD})
            assert response.status_code == 302, (role, response.status_code)
            served()
            clients[role.value] = client
        db.session.rollback()
    mix = _mix(app)

    def get(i: int) -> None:
        who, path = mix[i % len(mix)]
        response = clients[who].get(path)
        assert response.status_code == 200, (path, response.status_code)
        served()

    for i in range(warm_up):
        get(i)
    pauses: list[tuple[int, float]] = []
    started_at: list[float] = [0.0]

    def record(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started_at[0] = time.perf_counter()
        else:
            pauses.append((info["generation"], time.perf_counter() - started_at[0]))

    gc.callbacks.append(record)
    times = []
    for i in range(requests):
        started = time.perf_counter()
        get(warm_up + i)
        times.append(time.perf_counter() - started)
    gc.callbacks.remove(record)
    return {
        "times": times,
        "pauses": pauses,
        "frozen": gc.get_freeze_count(),
        "threshold": gc.get_threshold(),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_child(variant: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "bench.gc_pauses",
        "--child",
        variant,
        "--database-url",
        args.database_url,
        "--warm-up",
        str(args.warm_up),
        "--requests",
        str(args.requests),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"{variant} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, default=1000, help="timed requests per process")
    parser.add_argument("--warm-up", type=int, default=300, help="untimed requests first")
    parser.add_argument("--rounds", type=int, default=3, help="processes per variant")
    parser.add_argument("--output", type=Path, default=RESULTS, help="folder for the result")
    parser.add_argument("--child", choices=list(VARIANTS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = child(args.child, args.database_url, args.warm_up, args.requests)
        print(json.dumps(result))
        return

    runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in VARIANTS}
    for n in range(args.rounds):
        for variant in VARIANTS:
            runs[variant].append(run_child(variant, args))
            print(f"round {n + 1}: {VARIANTS[variant]} done", flush=True)
    write_report(args, runs)


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One variant's rounds: ms per request (median of the rounds' means), the pooled request
    times, and the collections per 1,000 requests."""
    requests = sum(len(r["times"]) for r in results)
    pooled = [t * 1000 for r in results for t in r["times"]]
    pauses = [(g, t * 1000) for r in results for g, t in r["pauses"]]
    per_thousand = 1000 / requests
    by_generation = {
        g: (
            sum(1 for gen, _t in pauses if gen == g) * per_thousand,
            sum(t for gen, t in pauses if gen == g) * per_thousand,
        )
        for g in range(3)
    }
    return {
        "ms": statistics.median(statistics.mean(r["times"]) * 1000 for r in results),
        "p99": percentile(pooled, 0.99),
        "max": max(pooled),
        "generations": by_generation,
        "gc_ms": sum(t for _g, t in pauses) * per_thousand,
        "longest": max((t for _g, t in pauses), default=0.0),
        "peak_mb": max(r["peak_mb"] for r in results),
        "frozen": results[0]["frozen"],
        "threshold": results[0]["threshold"],
    }


def write_report(args: argparse.Namespace, runs: dict[str, list[dict[str, Any]]]) -> None:
    database = "sqlite" if args.database_url.startswith("sqlite") else "postgresql"
    load = os.getloadavg()
    when = dt.datetime.now()
    figures = {variant: summary(results) for variant, results in runs.items()}
    floor = figures["off"]["ms"]
    lines = [
        f"# Garbage collection in a worker, {when.isoformat(timespec='seconds')}",
        "",
        f"- machine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; load average at the end {load[0]:.2f} / {load[1]:.2f} / "
        f"{load[2]:.2f}",
        f"- database: {database} ({args.database_url.rsplit('/', 1)[-1]})",
        f"- each variant: {args.rounds} processes, each {args.warm_up} requests untimed, then "
        f"{args.requests} timed (lead lists, a record page, the cockpit, the board, in turn)",
        "- floor: the same requests with the collector off",
        "- collections gen 0 / 1 / 2 and their time: per 1,000 requests",
        "",
        "| variant | ms per request | × floor | p99 ms | longest request ms | collections "
        "gen 0 / 1 / 2 | collection ms gen 0 / 1 / 2 | all collections ms | longest collection "
        "ms | objects frozen | thresholds | peak memory MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for variant, f in figures.items():
        counts = " / ".join(f"{f['generations'][g][0]:.1f}" for g in range(3))
        spent = " / ".join(f"{f['generations'][g][1]:.1f}" for g in range(3))
        lines.append(
            f"| {VARIANTS[variant]} | {f['ms']:.2f} | {f['ms'] / floor:.3f} | {f['p99']:.1f} "
            f"| {f['max']:.1f} | {counts} | {spent} | {f['gc_ms']:.1f} | {f['longest']:.1f} "
            f"| {f['frozen']:,} | {tuple(f['threshold'])} | {f['peak_mb']:.0f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    write_result(text, "gc_pauses", when, database, args.output)


if __name__ == "__main__":
    main()
