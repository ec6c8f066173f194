"""Benchmark runner: each main path as a user meets it, next to its SQL floor of the same run.

    cp /tmp/district.sqlite3 /tmp/district_rw.sqlite3      # the runner WRITES (contacts, stages)
    python -m bench --database-url sqlite:////tmp/district_rw.sqlite3 [--runs 15]
    python -m bench --database-url postgresql://postgres@127.0.0.1/a_copy_of_the_district

APP: requests through the WSGI app's test client, logged in as the role that uses the path
(leader: lists, detail, cockpit; manager: the board of their park; admin: writes and export),
and ``build_digest`` for every recipient. FLOOR: the same numbers fetched by one hand-written
SQL statement on the plain driver (sqlite3 or psycopg). For each path: median, p95, SQL
statements per request and the ratio median / floor median; the speed targets (bench/README.md)
next to each figure. Writes ``bench/results/run-<date>-<sqlite|postgresql>.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench import RESULTS, percentile, write_result

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Bench@2026"  # noqa: S105 (the generated users' password, bench/generate.py)
PAGE = 25
#: Leads to a page of the API, as a client reading them all asks (its most).
API_PAGE = 100

LIST_COLUMNS = """
SELECT lead.id, lead.title, lead.stage, lead.estimated_investment, lead.last_contact_on,
       lead.updated_at, enterprise.name, park.name, u.full_name, chain_link.name, chain.name
FROM lead JOIN enterprise ON enterprise.id = lead.enterprise_id
JOIN park ON park.id = lead.park_id JOIN "user" u ON u.id = lead.owner_id
LEFT JOIN chain_link ON chain_link.id = lead.chain_link_id
LEFT JOIN chain ON chain.id = chain_link.chain_id
"""


def production_app(url: str) -> Any:
    """The application as production runs it (``APP_ENV=production``: no debug mode, templates
    not checked for changes on every render), on *url*, for requests through the test client:
    CSRF and the login rate limit off, cookies sent over plain HTTP."""
    from app import create_app
    from config import database_url

    return create_app(
        "production",
        SQLALCHEMY_DATABASE_URI=database_url(url),
        SECRET_KEY=os.urandom(32).hex(),
        SESSION_COOKIE_SECURE=False,
        REMEMBER_COOKIE_SECURE=False,
        WTF_CSRF_ENABLED=False,
        RATELIMIT_ENABLED=False,
    )


#: A route the benchmarks add to the app (not part of it): the empty page.
EMPTY_PAGE = "/_bench/empty"


def add_empty_page(app: Any) -> None:
    """Add :data:`EMPTY_PAGE`: the fixed cost of any page (session, user, CSRF token, the
    layout), logged in, with no data."""
    from flask import render_template
    from flask_login import login_required

    @app.route(EMPTY_PAGE)
    @login_required
    def _empty_page() -> str:
        return render_template("base.html")


def busiest_park_stage(session: Any) -> tuple[int, Any]:
    """A busy filter: the most common (park, stage) among the leads."""
    from sqlalchemy import func, select

    from app.pipeline.models import Lead

    return session.execute(
        select(Lead.park_id, Lead.stage)
        .group_by(Lead.park_id, Lead.stage)
        .order_by(func.count().desc())
        .limit(1)
    ).one()


# The reference rows a list page shows in its filters (parks; chains with their links).
REFERENCE = [
    ("SELECT id, name FROM park ORDER BY sort_order, id", {}),
    (
        "SELECT chain.id, chain.name, chain_link.id, chain_link.name FROM chain "
        "JOIN chain_link ON chain_link.chain_id = chain.id "
        "ORDER BY chain.sort_order, chain.id, chain_link.position",
        {},
    ),
]


def capped_count(where: str, limit: int) -> str:
    """The list's total as the page counts it: up to *limit*, then "more than"."""
    return f"SELECT count(*) FROM (SELECT 1 FROM lead {where} LIMIT {limit + 1}) AS counted"


def search_floor(session: Any, word: str, *, rare: bool) -> tuple[str, dict[str, Any]]:
    """The search's condition by hand: the lead's title or its enterprise's name contains *word*,
    the candidates read through the names' pairs (``name_gram``), choosing the rarest two pairs
    beforehand (the floor knows the data). *rare*: the ids of both kinds united, as the page
    reads a word that matches few records; else one OR tested row by row in the list's order."""
    from sqlalchemy import func, select

    from app.core.search import NameGram, grams, is_its_own_pair
    from app.enterprises.models import Enterprise
    from app.pipeline.models import Lead

    args: dict[str, Any] = {"q": f"%{word}%"}
    found = []
    for model in (Lead, Enterprise):
        kind, column = model.__search__
        counts = {
            gram: session.scalar(
                select(func.count()).where(NameGram.kind == kind, NameGram.gram == gram)
            )
            for gram in grams(word)
        }
        rarest = sorted(counts, key=lambda gram: (counts[gram], gram))[:2]
        names = []
        for i, gram in enumerate(rarest):
            args[f"{model.__tablename__}{i}"] = gram
            names.append(f":{model.__tablename__}{i}")
        candidates = (
            f"SELECT ref_id FROM name_gram WHERE kind = {kind} AND gram IN ({', '.join(names)}) "
            f"GROUP BY ref_id HAVING count(*) = {len(names)}"
        )
        # Two Chinese characters are their own pair: holding it is containing them.
        like = "" if is_its_own_pair(word) else f" AND {column} LIKE :q"
        found.append(f"SELECT id FROM {model.__tablename__} WHERE id IN ({candidates}){like}")
    by_title, enterprises = found
    if rare:
        united = f"{by_title} UNION ALL SELECT id FROM lead WHERE enterprise_id IN ({enterprises})"
        return f"WHERE lead.id IN ({united})", args
    return f"WHERE lead.id IN ({by_title}) OR lead.enterprise_id IN ({enterprises})", args


def detail_floor(shown: int) -> list[tuple[str, dict[str, Any]]]:
    """Everything a lead's page shows, by hand: the lead with its names, the *shown* latest
    contacts and the stage changes with the people's names, the audit history, the projects
    and a pending proposal."""
    return [
        (
            "SELECT lead.*, enterprise.name, u.full_name, park.name, chain_link.name, chain.name "
            'FROM lead JOIN enterprise ON enterprise.id = lead.enterprise_id JOIN "user" u '
            "ON u.id = lead.owner_id JOIN park ON park.id = lead.park_id LEFT JOIN chain_link "
            "ON chain_link.id = lead.chain_link_id LEFT JOIN chain ON chain.id = "
            "chain_link.chain_id WHERE lead.id = :id",
            {},
        ),
        (
            "SELECT c.id, c.contact_on, c.created_at, c.contact_type, c.participants, c.summary, "
            'c.next_step, c.next_step_due, u.full_name, p.name FROM contact_log c LEFT JOIN "user" '
            "u ON u.id = c.created_by_id LEFT JOIN project p ON p.id = c.project_id "
            "WHERE c.lead_id = :id ORDER BY c.contact_on DESC, c.created_at DESC, c.id DESC "
            f"LIMIT {shown + 1}",
            {},
        ),
        (
            "SELECT sc.*, r.full_name, k.full_name FROM stage_change sc "
            'LEFT JOIN "user" r ON r.id = sc.recorded_by_id '
            'LEFT JOIN "user" k ON k.id = sc.confirmed_by_id WHERE sc.lead_id = :id',
            {},
        ),
        (
            'SELECT a.*, u.full_name FROM audit_log a LEFT JOIN "user" u ON u.id = a.actor_id '
            "WHERE a.entity = 'lead' AND a.entity_id = :id ORDER BY a.at DESC, a.id DESC "
            "LIMIT 100",
            {},
        ),
        ("SELECT * FROM project WHERE lead_id = :id ORDER BY id", {}),
        ("SELECT * FROM stage_proposal WHERE lead_id = :id AND status = 'pending'", {}),
    ]


def board_floor(stages: list[str], cards: int) -> list[tuple[str, dict[str, Any]]]:
    """Everything a park's board shows, by hand: the parks to choose from, each stage's count
    and sum, and each stage's *cards* largest leads with their enterprise and owner (per stage
    the largest known amounts and the newest without one, read through the board's index)."""
    parts = []
    for n, stage in enumerate(stages):
        for m, (cond, order) in enumerate(
            (
                ("estimated_investment IS NOT NULL", "estimated_investment DESC, id DESC"),
                ("estimated_investment IS NULL", "id DESC"),
            )
        ):
            parts.append(
                f"SELECT id FROM (SELECT id FROM lead WHERE park_id = :p AND stage = '{stage}' "
                f"AND {cond} ORDER BY {order} LIMIT {cards}) AS s{n}_{m}"
            )
    return [
        ("SELECT id, name FROM park ORDER BY sort_order, id", {}),
        (
            "SELECT stage, count(*), coalesce(sum(estimated_investment), 0) FROM lead "
            "WHERE park_id = :p GROUP BY stage",
            {},
        ),
        (
            "SELECT lead.id, lead.title, lead.estimated_investment, lead.stage, lead.stage_since, "
            'lead.last_contact_on, enterprise.name, u.full_name FROM lead JOIN "user" u ON '
            "u.id = lead.owner_id JOIN enterprise ON enterprise.id = lead.enterprise_id "
            f"WHERE lead.id IN ({' UNION ALL '.join(parts)}) "
            "ORDER BY lead.estimated_investment DESC, lead.id DESC",
            {},
        ),
    ]


@dataclass
class Measured:
    name: str
    action: Callable[[], Any]
    floor: list[tuple[str, dict[str, Any]]]  # statements of the floor (run together)
    target_ms: float | None = None
    target_ratio: float | None = None
    runs: int | None = None  # override --runs (slow paths)
    note: str = ""
    # Replay the page's own SELECTs on the plain driver (not for writes).
    replay: bool = True
    # A page served over HTTP: compared with the empty page's fixed cost too.
    page: bool = True
    # Untimed, before every run of the action (the state a user's next click starts from).
    before: Callable[[], Any] | None = None
    times: list[float] = field(default_factory=list)
    replay_times: list[float] = field(default_factory=list)
    floor_times: list[float] = field(default_factory=list)
    statements: int = 0


def timed(
    action: Callable[[], Any],
    runs: int,
    warm_up: bool = True,
    before: Callable[[], Any] | None = None,
) -> list[float]:
    if warm_up:
        if before is not None:
            before()
        action()  # caches, compiled statements
    out = []
    for _ in range(runs):
        if before is not None:
            before()
        started = time.perf_counter()
        action()
        out.append(time.perf_counter() - started)
    return out


def p95(times: list[float]) -> float:
    return percentile(times, 0.95)


class Floor:
    """Runs hand-written SQL on the plain driver (named parameters written ``:name``)."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            self.conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"))
        else:
            import psycopg

            self.conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))
            self.conn.execute("SET jit = off")  # as the application's connections (POSTGRES_JIT)
            self.conn.commit()

    def sql(self, text: str) -> str:
        if self.sqlite:
            return text
        import re

        return re.sub(r"(?<!:):([a-z_][a-z_0-9]*)", r"%(\1)s", text.replace("%", "%%"))

    def replay(self, statements: list[tuple[str, Any]]) -> None:
        """Run statements exactly as the application sent them to its driver (reads only)."""
        for text, params in statements:
            cursor = self.conn.execute(text, params)
            if cursor.description:
                cursor.fetchall()
        self.conn.commit()

    def run(self, statements: list[tuple[str, dict[str, Any]]]) -> Any:
        result = None
        for text, params in statements:
            cursor = self.conn.execute(self.sql(text), params)
            result = cursor.fetchall() if cursor.description else None
        self.conn.commit()
        return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--slow-runs", type=int, default=3, help="runs of export and digests")
    parser.add_argument("--output", type=Path, default=RESULTS, help="folder for the result")
    parser.add_argument(
        "--only", action="append", default=[], help="measure only paths whose name contains this"
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))

    from sqlalchemy import event, func, select

    from app.api.tokens import create_token, list_tokens, revoke_token
    from app.auth.models import Role, User
    from app.cockpit.services import forget_figures
    from app.core.paging import Cursor, encode_position
    from app.core.timeutil import today_local
    from app.digests.content import SharedFigures, build_digest
    from app.digests.weeks import IsoWeek
    from app.enterprises.models import Enterprise
    from app.extensions import db
    from app.pipeline.flags import load_thresholds
    from app.pipeline.lifecycle import ALL_STAGES, Stage
    from app.pipeline.models import ContactLog, Lead, Project
    from app.pipeline.queries import BOARD_CARDS, TIMELINE_SHOWN
    from app.pipeline.stats import REPORT_TIERS
    from bench.cockpit import page_floor

    url = args.database_url
    app = production_app(url)
    add_empty_page(app)

    floor = Floor(url)
    today = today_local()
    week = IsoWeek.last_completed(today)
    paths: list[Measured] = []
    statements: list[int] = [0]

    def count(*_a: Any) -> None:
        statements[0] += 1

    with app.app_context():
        s = db.session
        projects = s.scalar(select(func.count()).select_from(Project))
        leads = s.scalar(select(func.count()).select_from(Lead))
        contacts = s.scalar(select(func.count()).select_from(ContactLog))

        def first(role: Role) -> User:
            return s.scalars(select(User).where(User.role == role, User.active).limit(1)).one()

        leader, admin = first(Role.LEADER), first(Role.ADMIN)
        admin_id = admin.id
        manager = s.scalars(
            select(User).where(User.role == Role.MANAGER, User.active).limit(1)
        ).one()
        park_id = min(manager.park_ids) if manager.park_ids else None
        thresholds = load_thresholds(s)
        big = int(thresholds.floor("big") * 100_000_000)
        f_park, f_stage = busiest_park_stage(s)
        # A name to search: two characters of an enterprise name in the middle of the table.
        name = s.scalar(select(Enterprise.name).order_by(Enterprise.id).offset(leads // 10 // 2))
        needle = (name or "科技")[2:4]
        deep = max(1, (leads + PAGE - 1) // PAGE - 2)

        def row_before(column: Any, rows: int) -> Any:
            """The keys of the lead after *rows* others, newest first by *column* (its empty
            values last), then by id: where a client reading page after page stands."""
            first = column.desc().nulls_last() if column.nullable else column.desc()
            return s.execute(
                select(column, Lead.id).order_by(first, Lead.id.desc()).offset(rows - 1).limit(1)
            ).one()

        def raw_before(column: str, rows: int) -> Any:
            """:func:`row_before`'s keys as the plain driver returns them (the floors' own),
            for a depth among the leads that have a value of *column*."""
            return floor.run(
                [
                    (
                        f"SELECT {column}, id FROM lead WHERE {column} IS NOT NULL "
                        f"ORDER BY {column} DESC, id DESC LIMIT 1 OFFSET :n",
                        {"n": rows - 1},
                    )
                ]
            )[0]

        # Page *deep* as the list reaches it: "下一页" from the page before (keyset cursor).
        before_deep = row_before(Lead.updated_at, (deep - 1) * PAGE)
        deep_cursor = str(Cursor(*before_deep))
        # The API's cursor to the middle of the leads, 100 to a page, as a client reading them
        # all reaches it.
        api_deep = max(2, leads // API_PAGE // 2)
        before_api_deep = row_before(Lead.updated_at, (api_deep - 1) * API_PAGE)
        api_cursor = encode_position("-updated_at", list(before_api_deep))
        # The same depth by last contact, most recent first: a key that may be empty.
        before_contact_deep = row_before(Lead.last_contact_on, (api_deep - 1) * API_PAGE)
        contact_cursor = encode_position("-last_contact_on", list(before_contact_deep))
        busiest = s.execute(
            select(ContactLog.lead_id, func.count())
            .group_by(ContactLog.lead_id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        detail_id, detail_contacts = busiest
        # Writes: leads still at the first stage (one per run), moved one step on.
        movable = list(
            s.scalars(
                select(Lead.id)
                .where(Lead.stage == Stage.LEAD)
                .order_by(Lead.id)
                .limit(args.runs + 2)
            )
        )
        # the last one takes the contacts (its version changes), the others the stage moves
        write_id = movable.pop() if len(movable) > 1 else detail_id
        recipients = list(s.scalars(select(User).where(User.active.is_(True))))
        base_url = app.config.get("BASE_URL") or "http://localhost"
        s.rollback()
        for old in list_tokens(s, leader):  # a copy the runner ran on before
            if old.name == "bench":
                revoke_token(s, leader, old)
        _token, api_token = create_token(s, leader, name="bench")
        s.commit()

        clients: dict[str, Any] = {}
        for who, user in (("leader", leader), ("manager", manager), ("admin", admin)):
            client = app.test_client()
            r = client.post("/login", data={"username": user.username, "password": PASSWORD})
            assert r.status_code == 302, (who, r.status_code)
            clients[who] = client

        def get(who: str, path: str) -> Callable[[], Any]:
            def action() -> None:
                response = clients[who].get(path)
                assert response.status_code == 200, (path, response.status_code)

            return action

        def get_api(path: str) -> Callable[[], Any]:
            headers = {"Authorization": f"Bearer {api_token}"}

            def action() -> None:
                response = clients["leader"].get(path, headers=headers)
                assert response.status_code == 200, (path, response.status_code)

            return action

        paths.append(
            Measured(
                "empty page: login, layout, no data (leader)",
                get("leader", EMPTY_PAGE),
                [("SELECT 1", {})],
                note="the fixed cost of every page (a route of the runner, not of the app)",
            )
        )
        limit = int(app.config["LIST_COUNT_LIMIT"])
        page = f"{LIST_COLUMNS} {{where}} ORDER BY lead.updated_at DESC, lead.id DESC "
        page += f"LIMIT {PAGE} OFFSET :offset"
        search_limit = int(app.config["SEARCH_COUNT_LIMIT"])

        def list_path(
            name: str, url: str, where: str, params: dict[str, Any], counted_to: int, note: str = ""
        ) -> Measured:
            """A lead list as the leader reads it; its floor: the page's rows under *where*,
            counted up to *counted_to* as the page counts them, and the filters' parks and
            chains."""
            statements = [
                (page.format(where=where), {**params, "offset": 0}),
                (capped_count(where, counted_to), params),
                *REFERENCE,
            ]
            return Measured(name, get("leader", url), statements, 50, 3, note=note)

        paths.append(list_path("lead list, first page (leader)", "/leads", "", {}, limit))
        cond = "WHERE lead.park_id = :p AND lead.stage = :s AND lead.estimated_investment >= :b"
        fargs = {"p": f_park, "s": str(f_stage.value if hasattr(f_stage, "value") else f_stage)}
        fargs["b"] = big
        paths.append(
            list_path(
                "lead list, park + stage + tier (leader)",
                f"/leads?park={f_park}&stage={fargs['s']}&tier=big",
                cond,
                fargs,
                limit,
            )
        )
        qcond, qargs = search_floor(s, needle, rare=False)
        # A common word: counted up to the search's limit, as the page counts it.
        paths.append(
            list_path(
                f"lead list, search q={needle} (leader)",
                f"/leads?q={needle}",
                qcond,
                qargs,
                search_limit,
            )
        )
        # A word in every lead's title (bench.generate names each lead 项目洽谈<n>): its pairs say
        # nothing; the floor tests the names row by row in the list's order, as one would
        # who knows the data.
        every = "项目洽谈"
        ccond = (
            "WHERE lead.title LIKE :q OR lead.enterprise_id IN "
            "(SELECT id FROM enterprise WHERE name LIKE :q)"
        )
        paths.append(
            list_path(
                f"lead list, search q={every}, in every title (leader)",
                f"/leads?q={quote(every)}",
                ccond,
                {"q": f"%{every}%"},
                search_limit,
            )
        )
        # A rare word: one enterprise's full name (its few leads); the floor reads them by name
        # and by enterprise, as the page does when the count finds few.
        rare = name or "科技"
        rcond, rargs = search_floor(s, rare, rare=True)
        paths.append(
            list_path(
                "lead list, search of one enterprise's name (leader)",
                f"/leads?q={quote(rare)}",
                rcond,
                rargs,
                limit,
                note=f"q={rare}",
            )
        )
        seek = f"{LIST_COLUMNS} WHERE (lead.updated_at, lead.id) < (:at, :id) "
        seek += f"ORDER BY lead.updated_at DESC, lead.id DESC LIMIT {PAGE}"

        raw_at, raw_id = raw_before("updated_at", (deep - 1) * PAGE)
        paths.append(
            Measured(
                f"lead list, page {deep} by 下一页 (leader)",
                get("leader", f"/leads?after={quote(deep_cursor)}"),
                [(seek, {"at": raw_at, "id": raw_id}), (capped_count("", limit), {}), *REFERENCE],
                50,
                3,
                note="keyset: the page after the last row of page "
                f"{deep - 1}; the floor seeks the same way",
            )
        )
        api_seek = seek.replace(f"LIMIT {PAGE}", f"LIMIT {API_PAGE}")
        raw_api_at, raw_api_id = raw_before("updated_at", (api_deep - 1) * API_PAGE)
        paths.append(
            Measured(
                f"API lead list, page {api_deep} by cursor, {API_PAGE} a page (leader)",
                get_api(f"/api/v1/leads?per_page={API_PAGE}&after={api_cursor}"),
                [
                    (api_seek, {"at": raw_api_at, "id": raw_api_id}),
                    ("SELECT count(*) FROM lead", {}),
                    *REFERENCE,
                ],
                note="JSON of 100 leads and the exact total; the floor seeks the same way",
            )
        )
        contact_seek = api_seek.replace(
            "(lead.updated_at, lead.id) < (:at, :id)",
            "lead.last_contact_on IS NOT NULL AND (lead.last_contact_on, lead.id) < (:at, :id)",
        ).replace("lead.updated_at DESC", "lead.last_contact_on DESC")
        raw_contact_at, raw_contact_id = raw_before("last_contact_on", (api_deep - 1) * API_PAGE)
        paths.append(
            Measured(
                f"API lead list by last contact, page {api_deep} by cursor (leader)",
                get_api(
                    f"/api/v1/leads?per_page={API_PAGE}&sort=-last_contact_on&after={contact_cursor}"
                ),
                [
                    (contact_seek, {"at": raw_contact_at, "id": raw_contact_id}),
                    ("SELECT count(*) FROM lead", {}),
                    *REFERENCE,
                ],
                note="most recent first, the never contacted last; the floor seeks the "
                "contacted leads alone",
            )
        )
        paths.append(
            Measured(
                "lead list, last page (leader)",
                get("leader", "/leads?last=1"),
                [
                    (
                        page.replace("DESC", "ASC").format(where=""),
                        {"offset": 0},
                    ),
                    (capped_count("", limit), {}),
                    *REFERENCE,
                ],
                50,
                3,
            )
        )
        paths.append(
            Measured(
                f"lead detail, {detail_contacts} contacts (leader)",
                get("leader", f"/leads/{detail_id}"),
                [(text, {"id": detail_id}) for text, _ in detail_floor(TIMELINE_SHOWN)],
                50,
                3,
            )
        )
        paths.append(
            Measured(
                f"park board, park {park_id} (manager)",
                get("manager", f"/board?park={park_id}"),
                [
                    (text, {"p": park_id})
                    for text, _ in board_floor([st.value for st in ALL_STAGES], BOARD_CARDS)
                ],
                300,
                2,
            )
        )
        tiers = {tier: int(thresholds.floor(tier) * 100_000_000) for tier in REPORT_TIERS}
        cockpit_floor = page_floor(
            url.startswith("sqlite"),
            dt.date(today.year, 1, 1),
            dt.date(today.year, 12, 31),
            today,
            tiers,
        )
        view_cockpit = get("leader", "/cockpit/")

        def cockpit_computed() -> None:
            forget_figures()  # as the first view after any change of a record
            view_cockpit()

        for name, action, note in (
            ("computed", cockpit_computed, "the first view after a change of the data"),
            ("kept", view_cockpit, "every further view until the data changes"),
        ):
            paths.append(
                Measured(
                    f"cockpit (leader), figures {name}",
                    action,
                    cockpit_floor,
                    300,
                    2,
                    note=f"{note}; floor: every figure set of the page, hand-written "
                    "(bench/cockpit.py)",
                )
            )

        # --- writes (admin) ---
        marker = [0]

        def log_contact() -> None:
            marker[0] += 1
            response = clients["admin"].post(
                f"/leads/{write_id}/contacts",
                data={
                    "contact-contact_type": "visit",
                    "contact-contact_on": today.isoformat(),
                    "contact-summary": f"基准测试联系 {marker[0]}",
                },
            )
            assert response.status_code == 302, response.status_code

        def flash_read() -> None:
            # A browser follows the write's redirect to the record page, which shows (and so
            # removes) its message; back-to-back POSTs would otherwise carry a session cookie
            # that grows by one message per run.
            with clients["admin"].session_transaction() as session:
                session.pop("_flashes", None)

        contact_floor = [
            (
                "INSERT INTO contact_log (lead_id, contact_type, contact_on, summary, "
                "created_by_id, created_at, updated_at, version) "
                "VALUES (:id, 'visit', :d, 'floor', :u, :t, :t, 1)",
                {"id": write_id, "d": today.isoformat(), "u": admin_id, "t": f"{today} 00:00:00"},
            ),
            (
                "UPDATE lead SET last_contact_on = :d, version = version + 1 WHERE id = :id",
                {"id": write_id, "d": today.isoformat()},
            ),
        ]
        paths.append(
            Measured(
                "log a contact (admin, POST)",
                log_contact,
                contact_floor,
                30,
                replay=False,
                before=flash_read,
            )
        )
        with s.no_autoflush:
            rows = s.execute(select(Lead.id, Lead.version).where(Lead.id.in_(movable))).all()
            versions = {lead_id: version for lead_id, version in rows}
        s.rollback()
        moves = iter(movable)

        def move_stage() -> None:
            lead_id = next(moves)
            response = clients["admin"].post(
                f"/leads/{lead_id}/stage",
                data={
                    "stage-target": Stage.CONTACTED.value,
                    "stage-effective_on": today.isoformat(),
                    "stage-version": str(versions[lead_id]),
                },
            )
            assert response.status_code == 302, response.status_code

        stage_floor = [
            (
                "INSERT INTO stage_change (lead_id, from_stage, to_stage, effective_on, "
                "recorded_by_id, recorded_at) VALUES (:id, 'lead', 'contacted', :d, :u, :t)",
                {"id": write_id, "d": today.isoformat(), "u": admin_id, "t": f"{today} 00:00:00"},
            ),
            (
                "UPDATE lead SET stage = stage, stage_since = :d, version = version + 1 "
                "WHERE id = :id",
                {"id": write_id, "d": today.isoformat()},
            ),
        ]
        if len(movable) > args.runs:
            paths.append(
                Measured(
                    "move a stage (admin, POST)",
                    move_stage,
                    stage_floor,
                    30,
                    replay=False,
                    before=flash_read,
                )
            )

        # --- slow paths ---
        per_recipient: list[int] = []

        recipient_ids = [user.id for user in recipients]

        def digests() -> None:
            # As a delivery run builds them: one SharedFigures for the whole batch, told the
            # recipients up front (the officers' sections are read for all of them at once).
            per_recipient.clear()
            shared = SharedFigures(recipient_ids)
            with app.app_context():
                for user in db.session.scalars(select(User).where(User.id.in_(recipient_ids))):
                    before = statements[0]
                    build_digest(db.session, user, week, base_url, shared=shared)
                    per_recipient.append(statements[0] - before)

        digest_floor = (
            "SELECT owner_id, count(*) FILTER (WHERE stale_on <= :today), "
            "count(*) FILTER (WHERE next_step_due < :today) FROM lead "
            "WHERE stage NOT IN ('dropped', 'full_production') GROUP BY owner_id"
        )
        paths.append(
            Measured(
                f"all weekly digests, {len(recipients)} active users",
                digests,
                [(digest_floor, {"today": today.isoformat()})],
                30_000,
                None,
                runs=args.slow_runs,
                note="one batch sharing each overseer scope, as a delivery run; "
                "floor: per-owner stale/overdue counts only",
                page=False,
            )
        )
        export_floor = """
SELECT p.id, p.name, e.name, e.credit_code, park.name, p.total_investment,
       p.fixed_asset_investment, p.stage, p.signed_on, p.construction_on, p.production_on,
       p.full_production_on, u.full_name, p.updated_at
FROM project p JOIN enterprise e ON e.id = p.enterprise_id JOIN park ON park.id = p.park_id
JOIN "user" u ON u.id = p.owner_id ORDER BY p.id
"""
        paths.append(
            Measured(
                f"export {projects:,} projects .xlsx (admin)",
                get("admin", "/ledger/export/projects.xlsx"),
                [(export_floor, {})],
                None,
                None,
                runs=args.slow_runs,
                note="floor: the SELECT alone, no file written",
            )
        )

        s.close()
        engine = db.engine

    # Each request (and the digests) runs in its own application context, as in a server.
    if args.only:
        paths = [p for p in paths if any(part in p.name for part in args.only)]
    captured: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, parameters: Any, *_a: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            captured.append((statement, parameters))

    for p in paths:
        runs = p.runs or args.runs
        p.floor_times = timed(lambda p=p: floor.run(p.floor), runs)
        statements[0] = 0
        event.listen(engine, "before_cursor_execute", count)
        try:
            # The slow paths are long enough to need no warm-up (their first run is timed).
            p.times = timed(p.action, runs, warm_up=p.runs is None, before=p.before)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        p.statements = round(statements[0] / (runs + (p.runs is None)))
        if p.replay and p.runs is None:
            captured.clear()
            event.listen(engine, "before_cursor_execute", capture)
            try:
                p.action()
            finally:
                event.remove(engine, "before_cursor_execute", capture)
            page_sql = list(captured)
            p.replay_times = timed(lambda page_sql=page_sql: floor.replay(page_sql), runs)
        if per_recipient and p.action is digests:
            p.note += f"; statements per recipient {min(per_recipient)}–{max(per_recipient)}"
        print(f"{p.name}: {statistics.median(p.times) * 1000:.1f} ms", flush=True)

    write_report(args, url, paths, projects, leads, contacts)


def verdict(p: Measured) -> str:
    median = statistics.median(p.times) * 1000
    ratio = statistics.median(p.times) / statistics.median(p.floor_times)
    parts = []
    if p.target_ms is not None:
        parts.append(f"< {p.target_ms:,.0f} ms: " + ("met" if median < p.target_ms else "NOT met"))
    if p.target_ratio is not None:
        parts.append(
            f"≤ {p.target_ratio:g}× floor: " + ("met" if ratio <= p.target_ratio else "NOT met")
        )
    return "; ".join(parts) or "—"


def latest_import_result(suffix: str) -> str:
    found = sorted(RESULTS.glob(f"ledger_import-*-{suffix}.md"))
    return found[-1].name if found else "(none yet)"


def write_report(
    args: Any, url: str, paths: list[Measured], projects: int, leads: int, contacts: int
) -> None:
    is_sqlite = url.startswith("sqlite")
    if is_sqlite:
        dialect = "SQLite " + sqlite3.sqlite_version
    else:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
            dialect = "PostgreSQL " + str(conn.execute("SHOW server_version").fetchone()[0])
    suffix = "sqlite" if is_sqlite else "postgresql"
    load = os.getloadavg()
    when = dt.datetime.now()
    lines = [
        f"# Benchmark run, {when.isoformat(timespec='seconds')}",
        "",
        f"- machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; load average at the end "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}",
        f"- database: {dialect}; {projects:,} projects, {leads:,} leads, "
        f"{contacts:,} contact-log rows",
        f"- runs: {args.runs} after one warm-up ({args.slow_runs} for digests and export, "
        "without warm-up)",
        "- floor: the same numbers by hand-written SQL on the plain driver, same run",
        "",
        "- own SQL: the SELECTs the path itself ran, replayed on the plain driver (its database "
        "time alone)",
        "- × (floor + empty page): the median over the floor plus the median of the empty page "
        "(login, layout, no data), the fixed cost every rendered page pays",
        "",
        "| path | median ms | p95 ms | SQL statements | own SQL ms | floor median ms | × floor "
        "| × (floor + empty page) | target | note |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    empty = next((p for p in paths if p.name.startswith("empty page")), None)
    fixed = statistics.median(empty.times) if empty else None
    for p in paths:
        median, floor_median = statistics.median(p.times), statistics.median(p.floor_times)
        own = f"{statistics.median(p.replay_times) * 1000:.1f}" if p.replay_times else "—"
        with_page = (
            f"{median / (floor_median + fixed):.1f}"
            if fixed is not None and p.page and p is not empty
            else "—"
        )
        lines.append(
            f"| {p.name} | {median * 1000:.1f} | {p95(p.times) * 1000:.1f} | {p.statements} "
            f"| {own} | {floor_median * 1000:.1f} | {median / floor_median:.1f} | {with_page} "
            f"| {verdict(p)} | {p.note} |"
        )
    lines += [
        "",
        "The 50,000-row import (dry run plus apply, target ≤ 3× floor) is measured by "
        f"`bench/ledger_import.py`: latest result `results/{latest_import_result(suffix)}`.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    write_result(text, "run", when, suffix, args.output)


if __name__ == "__main__":
    main()
