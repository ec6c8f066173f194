"""Load test: gunicorn with several workers on PostgreSQL (127.0.0.1), 50 simulated users.

    python -m bench.load [--template bench_district] [--seconds 120] [--users 50] [--workers 4]

Copies the generated district (``CREATE DATABASE ... TEMPLATE``; the copy is dropped afterwards),
starts the Procfile's ``web`` command (gunicorn, ``wsgi:app``, APP_ENV=production, CSRF on) on a
free port of 127.0.0.1, and lets threads with a ``requests.Session`` each log in and mix the
paths of bench/run.py for a bounded time and number of requests: lead lists (first page,
filtered, search, deep page), lead detail, park board, cockpit, logging a contact (each with a
unique summary marker) and moving a stage (each simulated user owns its leads). It reports
throughput and p95 per path, fails on any 5xx, and checks that every contact the server
confirmed (302) is in the database afterwards. Writes ``bench/results/load-<date>.md``.
Not in the mix: the 100,000-row export and the digests (they are not pages users click in a
loop; bench/run.py measures them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench import RESULTS, percentile, write_result

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Bench@2026"  # noqa: S105 (the generated users' password, bench/generate.py)
TOKEN = re.compile(r'name="(?:[a-z]+-)?csrf_token" type="hidden" value="([^"]+)"')
VERSION = re.compile(r'name="stage-version" type="hidden" value="(\d+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    server_errors: list[str] = field(default_factory=list)
    confirmed: set[str] = field(default_factory=set)  # contact markers answered with 302
    moves: int = 0
    requests: int = 0

    def record(self, path: str, seconds: float, status: int, url: str) -> None:
        with self.lock:
            self.times[path].append(seconds)
            self.statuses[status] += 1
            self.requests += 1
            if status >= 500:
                self.server_errors.append(f"{status} {url}")


@dataclass
class Plan:
    """What the simulated users request (ids read from the database before the run)."""

    leader: str
    manager: str
    admin: str
    park_id: int
    filter_query: str
    needle: str
    deep_cursors: list[str]  # where 下一页 leads near the end of the list (keyset cursors)
    detail_ids: list[int]
    park_detail_ids: list[int]  # the manager sees only the leads of their park
    movable: list[int]


def read_plan(url: str, users: int) -> Plan:
    import psycopg

    sys.path.insert(0, str(ROOT))
    from app.core.paging import Cursor

    with psycopg.connect(url) as conn:

        def one(sql: str, *params: Any) -> Any:
            return conn.execute(sql, params).fetchone()

        leader = one("SELECT username FROM \"user\" WHERE role = 'leader' AND active LIMIT 1")[0]
        admin = one("SELECT username FROM \"user\" WHERE role = 'admin' AND active LIMIT 1")[0]
        manager, park_id = one(
            'SELECT u.username, min(mp.park_id) FROM "user" u JOIN user_park mp '
            "ON mp.user_id = u.id WHERE u.role = 'manager' AND u.active "
            "GROUP BY u.id ORDER BY u.id LIMIT 1"
        )
        park, stage = one(
            "SELECT park_id, stage FROM lead GROUP BY park_id, stage ORDER BY count(*) DESC LIMIT 1"
        )
        leads = one("SELECT count(*) FROM lead")[0]
        name = one("SELECT name FROM enterprise ORDER BY id OFFSET %s LIMIT 1", leads // 20)[0]
        detail_ids = [
            row[0]
            for row in conn.execute(
                "SELECT lead_id FROM contact_log GROUP BY lead_id ORDER BY count(*) DESC LIMIT 200"
            )
        ]
        park_detail_ids = [
            row[0]
            for row in conn.execute(
                "SELECT lead_id FROM contact_log JOIN lead ON lead.id = contact_log.lead_id "
                "WHERE lead.park_id = %s GROUP BY lead_id ORDER BY count(*) DESC LIMIT 200",
                (park_id,),
            )
        ]
        deep = max(1, leads // 25 - 2)  # the page of the pages near the end
        # The last row of each of the 20 pages before it: 下一页 from there.
        near_end = conn.execute(
            "SELECT updated_at, id FROM lead ORDER BY updated_at DESC, id DESC OFFSET %s LIMIT 500",
            (max(0, (deep - 20) * 25 - 1),),
        ).fetchall()
        deep_cursors = [str(Cursor(*row)) for row in near_end[::25]]
        movable = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM lead WHERE stage = 'lead' ORDER BY id LIMIT %s", (users * 40,)
            )
        ]
    return Plan(
        leader=leader,
        manager=manager,
        admin=admin,
        park_id=park_id,
        filter_query=f"park={park}&stage={stage}&tier=big",
        needle=name[2:4],
        deep_cursors=deep_cursors,
        detail_ids=detail_ids,
        park_detail_ids=park_detail_ids,
        movable=movable,
    )


class User(threading.Thread):
    def __init__(
        self, n: int, base: str, plan: Plan, tally: Tally, stop: float, limit: int, run_id: str
    ) -> None:
        super().__init__(name=f"user-{n}", daemon=True)
        import requests

        self.n, self.base, self.plan, self.tally = n, base, plan, tally
        self.stop_at, self.limit, self.run_id = stop, limit, run_id
        self.session = requests.Session()
        self.rng = random.Random(n)  # noqa: S311 (a load mix, not secrets)
        self.role = ("leader", "manager", "admin", "admin", "admin")[n % 5]
        self.mine = plan.movable[n::50] if self.role == "admin" else []
        self.contacts = 0
        self.error: str | None = None

    def call(self, label: str, method: str, path: str, **kwargs: Any) -> Any:
        started = time.perf_counter()
        response = self.session.request(
            method, self.base + path, allow_redirects=False, timeout=60, **kwargs
        )
        self.tally.record(label, time.perf_counter() - started, response.status_code, path)
        return response

    def login(self) -> None:
        page = self.session.get(self.base + "/login", timeout=60).text
        username = getattr(self.plan, self.role)
        response = self.call(
            "login (POST)",
            "POST",
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": _token(page)},
        )
        if response.status_code != 302:
            raise RuntimeError(f"login of {username} answered {response.status_code}")

    def run(self) -> None:
        try:
            self.login()
            while time.monotonic() < self.stop_at and self.tally.requests < self.limit:
                self.step()
                time.sleep(self.rng.uniform(0, 1.0))  # think time, 0.5 s on average
        except Exception as error:  # reported, the run goes on
            self.error = repr(error)

    def step(self) -> None:
        plan, rng = self.plan, self.rng
        details = plan.park_detail_ids if self.role == "manager" else plan.detail_ids
        choices: list[tuple[str, str]] = [
            ("lead list, first page", "/leads"),
            ("lead list, park + stage + tier", f"/leads?{plan.filter_query}"),
            ("lead list, search", f"/leads?q={plan.needle}"),
            ("lead list, deep page", f"/leads?after={quote(rng.choice(plan.deep_cursors))}"),
            ("lead detail", f"/leads/{rng.choice(details)}"),
        ]
        if self.role == "manager":
            choices.append(("park board", f"/board?park={plan.park_id}"))
        if self.role == "leader":
            choices.append(("cockpit", "/cockpit/"))
        if self.role == "admin":
            choices += [("log a contact", "")] * 2
            if self.mine:
                choices.append(("move a stage", ""))
        label, path = rng.choice(choices)
        if label == "log a contact":
            self.log_contact()
        elif label == "move a stage":
            self.move_stage()
        else:
            self.call(label, "GET", path)

    def log_contact(self) -> None:
        lead_id = self.rng.choice(self.plan.detail_ids)
        page = self.call("lead detail", "GET", f"/leads/{lead_id}").text
        self.contacts += 1
        marker = f"load-{self.run_id}-{self.n}-{self.contacts}"
        response = self.call(
            "log a contact (POST)",
            "POST",
            f"/leads/{lead_id}/contacts",
            data={
                "contact-csrf_token": _token(page),
                "contact-contact_type": "phone",
                "contact-contact_on": dt.date.today().isoformat(),
                "contact-summary": marker,
            },
        )
        if response.status_code == 302:
            with self.tally.lock:
                self.tally.confirmed.add(marker)

    def move_stage(self) -> None:
        lead_id = self.mine.pop()
        page = self.call("lead detail", "GET", f"/leads/{lead_id}").text
        version = VERSION.search(page)
        response = self.call(
            "move a stage (POST)",
            "POST",
            f"/leads/{lead_id}/stage",
            data={
                "stage-csrf_token": _token(page),
                "stage-target": "contacted",
                "stage-effective_on": dt.date.today().isoformat(),
                "stage-version": version.group(1) if version else "",
            },
        )
        if response.status_code == 302:
            with self.tally.lock:
                self.tally.moves += 1


def _token(page: str) -> str:
    found = TOKEN.search(page)
    return found.group(1) if found else ""


def _psql_url(url: str, database: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + database


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--template", default="bench_district", help="database to copy")
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    import psycopg

    run_id = uuid.uuid4().hex[:8]
    copy = f"bench_load_{run_id}"
    url = _psql_url(args.server, copy)
    with psycopg.connect(args.server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{args.template}"')
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"TEST_DATABASE_URL", "FLASK_APP"}}
    env.update(
        APP_ENV="production",
        SECRET_KEY=uuid.uuid4().hex * 2,
        DATABASE_URL=url,
        SESSION_COOKIE_SECURE="0",  # plain HTTP on 127.0.0.1
        RATELIMIT_ENABLED="0",
        BASE_URL=f"http://127.0.0.1:{port}",
        PORT=str(port),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY=str(args.workers),
    )
    web = next(
        line.split(":", 1)[1] for line in (ROOT / "Procfile").read_text().splitlines()
        if line.startswith("web:")
    )  # fmt: skip
    argv_ = shlex.split(web)
    argv_[0] = str(Path(sys.executable).parent / argv_[0])
    log_path = Path(f"/tmp/bench_load_{run_id}.log")  # noqa: S108 (gunicorn's access log)
    tally = Tally()
    users: list[User] = []
    try:
        plan = read_plan(url, args.users)
        with log_path.open("wb") as log:
            server = subprocess.Popen(  # noqa: S603
                argv_, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_up(base, server, log_path)
            started = time.monotonic()
            stop = started + args.seconds
            users = [
                User(n, base, plan, tally, stop, args.max_requests, run_id)
                for n in range(args.users)
            ]
            for user in users:
                user.start()
            for user in users:
                user.join(timeout=args.seconds + 120)
            elapsed = time.monotonic() - started
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        with psycopg.connect(url) as conn:
            stored = {
                row[0]
                for row in conn.execute(
                    "SELECT summary FROM contact_log WHERE summary LIKE %s", (f"load-{run_id}-%",)
                )
            }
    finally:
        with psycopg.connect(args.server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
    lost = sorted(tally.confirmed - stored)
    failures = [f"{u.name}: {u.error}" for u in users if u.error]
    when = dt.datetime.now()
    text = report(args, when, tally, elapsed, lost, stored, failures)
    print(text)
    write_result(text, "load", when, folder=args.output)
    ok = not tally.server_errors and not lost and not failures
    return 0 if ok else 1


def _wait_up(base: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            if requests.get(base + "/login", timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or the workers still starting up
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer within 60 s")


def report(
    args: Any,
    when: dt.datetime,
    tally: Tally,
    elapsed: float,
    lost: list[str],
    stored: set[str],
    failures: list[str],
) -> str:
    import psycopg

    with psycopg.connect(args.server) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
    total = sum(len(t) for t in tally.times.values())
    every = [s for t in tally.times.values() for s in t]
    lines = [
        f"# Load test, {when.isoformat(timespec='seconds')}",
        "",
        f"- machine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; load average at the end "
        + " / ".join(f"{x:.2f}" for x in os.getloadavg()),
        f"- server: gunicorn, {args.workers} sync workers (Procfile `web`), APP_ENV=production, "
        f"CSRF on, on 127.0.0.1; PostgreSQL {version}, a copy of `{args.template}`",
        f"- clients: {args.users} simulated users (threads, `requests.Session`, think time "
        f"0–1 s), {args.seconds:.0f} s, at most {args.max_requests:,} requests; "
        f"ran {elapsed:.1f} s",
        f"- requests: {total:,}, throughput {total / elapsed:.1f} requests/s, "
        f"p95 over all {_p95(every) * 1000:.0f} ms",
        f"- server errors (5xx): {len(tally.server_errors)}"
        + (f" — first: {tally.server_errors[:5]}" if tally.server_errors else ""),
        f"- writes: {len(tally.confirmed)} contacts confirmed by the server, "
        f"{len(tally.confirmed & stored)} found in the database, lost: {len(lost)}"
        + (f" ({lost[:5]})" if lost else "")
        + f"; {tally.moves} stage moves confirmed",
        f"- statuses: {dict(sorted(tally.statuses.items()))}",
        f"- simulated users that stopped on an error: {len(failures)}"
        + (f" — {failures[:3]}" if failures else ""),
        "",
        "| path | requests | median ms | p95 ms | max ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for label in sorted(tally.times):
        times = tally.times[label]
        lines.append(
            f"| {label} | {len(times):,} | {statistics.median(times) * 1000:.0f} "
            f"| {_p95(times) * 1000:.0f} | {max(times) * 1000:.0f} |"
        )
    return "\n".join(lines) + "\n"


def _p95(times: list[float]) -> float:
    return percentile(times, 0.95)


if __name__ == "__main__":
    sys.exit(main())
