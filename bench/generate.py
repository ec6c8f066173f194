"""Fill a database with a reproducible district-scale data set, through the project's models.

    python -m bench.generate --database-url sqlite:///bench/data/district.sqlite3
    python -m bench.generate --database-url postgresql://postgres@127.0.0.1/bench --scale 0.1

At scale 1: 8 parks, the chip/display chains and two more, 1,000 users over all roles,
20,000 enterprises, 100,000 leads and 100,000 projects with complete stage histories over five
years, and 1,000,000 contact-log rows; every record's stage, milestone dates and stored
"last contact" agree with its history and contacts, as the application keeps them.

The database is migrated with the project's migrations, then filled with Core ``INSERT``s of
the models' tables in batches (the audit log is not written: this is bench data, not user
work). The same seed gives the same data. The target database must be empty.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import random
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BATCH = 10_000
YEARS = 5

PARKS = (
    ("IC", "集成电路产业园"),
    ("DISPLAY", "新型显示产业园"),
    ("MATERIALS", "绿色低碳新材料产业园"),
    ("HYDROGEN", "氢能与储能产业园"),
    ("MARINE", "海洋产业园"),
    ("HOME", "智能家电产业园"),
    ("GENE", "基因技术产业园"),
    ("PORT", "临港物流园"),
)
CHAINS = (
    (
        "CHIP",
        "芯",
        "IC",
        ("EDA/IP", "芯片设计", "晶圆制造", "封装测试", "半导体设备", "半导体材料"),
    ),
    (
        "DISPLAY",
        "屏",
        "DISPLAY",
        ("玻璃基板", "偏光片", "OLED材料", "靶材", "驱动芯片", "面板制造", "模组", "终端应用"),
    ),
    ("HYDROGEN", "氢能", "HYDROGEN", ("制氢", "储运", "加氢", "燃料电池", "整车应用")),
    ("MARINE", "海洋", "MARINE", ("海工装备", "海洋生物", "海水淡化", "海洋牧场")),
)
MAIN = (
    "lead",
    "contacted",
    "negotiating",
    "signed",
    "construction",
    "production",
    "full_production",
)
MILESTONES = {
    "signed": "signed_on",
    "construction": "construction_on",
    "production": "production_on",
    "full_production": "full_production_on",
}
# Where records stand: (stage index on the main line, or a side exit) and weights.
STANDING = (
    ("lead", 18),
    ("contacted", 16),
    ("negotiating", 16),
    ("signed", 14),
    ("construction", 12),
    ("production", 8),
    ("full_production", 6),
    ("on_hold", 5),
    ("dropped", 5),
)
CONTACT_TYPES = ("visit", "reception", "phone", "meeting", "online", "exhibition", "other")


def batches(rows: Iterator[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class Generator:
    def __init__(self, session: Any, scale: float, seed: int, today: dt.date) -> None:
        self.session = session
        self.rng = random.Random(seed)  # noqa: S311 - reproducible bench data
        self.today = today
        self.start = today - dt.timedelta(days=365 * YEARS)
        self.now = dt.datetime.now(dt.UTC)
        self.n_users = max(20, int(1000 * scale))
        self.n_enterprises = max(50, int(20_000 * scale))
        self.n_records = max(100, int(100_000 * scale))
        self.n_contacts = max(500, int(1_000_000 * scale))
        self.counts: dict[str, int] = {}

    def stamp(self) -> dict[str, Any]:
        return {"created_at": self.now, "updated_at": self.now, "version": 1}

    def _moment(self, day: dt.date) -> dt.datetime:
        """A time in office hours (Asia/Shanghai, 01:00-09:59 UTC) on *day*, never ahead of now."""
        seconds = self.rng.randrange(1 * 3600, 10 * 3600)
        moment = dt.datetime.combine(day, dt.time(), dt.UTC) + dt.timedelta(seconds=seconds)
        return min(moment, self.now)

    def insert(self, model: Any, rows: Iterator[dict[str, Any]]) -> None:
        from sqlalchemy import insert

        total = 0
        for batch in batches(rows):
            self.session.execute(insert(model.__table__), batch)
            total += len(batch)
        self.counts[model.__tablename__] = self.counts.get(model.__tablename__, 0) + total

    # --- reference data and people -------------------------------------------------------

    def reference(self) -> None:
        from app.auth.models import Role, User, user_park
        from app.auth.services import hash_password
        from app.parks.models import Chain, ChainLink, Park

        self.insert(
            Park,
            (
                {
                    "id": i + 1,
                    "code": code,
                    "name": name,
                    "sort_order": i + 1,
                    "active": True,
                    **self.stamp(),
                }
                for i, (code, name) in enumerate(PARKS)
            ),
        )
        self.park_ids = list(range(1, len(PARKS) + 1))
        self.links_by_park: dict[int, list[int]] = {}
        link_id = 0
        for i, (code, name, park_code, links) in enumerate(CHAINS):
            self.insert(
                Chain,
                iter(
                    [{"id": i + 1, "code": code, "name": name, "sort_order": i + 1, **self.stamp()}]
                ),
            )
            rows = []
            park_id = [p[0] for p in PARKS].index(park_code) + 1
            for position, link in enumerate(links, start=1):
                link_id += 1
                rows.append(
                    {
                        "id": link_id,
                        "chain_id": i + 1,
                        "name": link,
                        "position": position,
                        **self.stamp(),
                    }
                )
                self.links_by_park.setdefault(park_id, []).append(link_id)
            self.insert(ChainLink, iter(rows))
        password = hash_password("Bench@2026")
        leaders = max(2, self.n_users // 50)
        managers = max(len(PARKS), self.n_users * 6 // 100)
        roles = (
            [Role.ADMIN] * 2
            + [Role.LEADER] * leaders
            + [Role.MANAGER] * managers
            + [Role.OFFICER] * (self.n_users - 2 - leaders - managers)
        )
        self.insert(
            User,
            (
                {
                    "id": n + 1,
                    "username": f"user{n + 1:04d}",
                    "full_name": f"用户{n + 1:04d}",
                    "role": role.value,
                    "password_hash": password,
                    "active": True,
                    "locale": "zh_Hans_CN",
                    **self._user_extra(),
                    **self.stamp(),
                }
                for n, role in enumerate(roles)
            ),
        )
        self.officers = [n + 1 for n, r in enumerate(roles) if r is Role.OFFICER]
        managers = [n + 1 for n, r in enumerate(roles) if r is Role.MANAGER]
        pairs = [
            {"user_id": m, "park_id": self.park_ids[i % len(self.park_ids)]}
            for i, m in enumerate(managers)
        ]
        self.session.execute(user_park.insert(), pairs)

    def _user_extra(self) -> dict[str, Any]:
        from app.auth.models import User

        columns = User.__table__.columns
        return {"session_version": 1} if "session_version" in columns else {}

    def enterprises(self) -> None:
        from app.enterprises.credit_code import check_character
        from app.enterprises.models import Enterprise
        from app.enterprises.names import normalize_name

        words = ("海川", "金桥", "蓝湾", "启明", "瑞丰", "华拓", "博远", "鼎新", "众诚", "润泽")
        trades = ("半导体", "光电", "新材料", "氢能", "海洋科技", "智能装备", "生物医药")

        def rows() -> Iterator[dict[str, Any]]:
            for n in range(1, self.n_enterprises + 1):
                name = f"{self.rng.choice(words)}{self.rng.choice(trades)}第{n}有限公司"
                first17 = f"91370211MA{n:07d}"
                yield {
                    "id": n,
                    "name": name,
                    "name_key": normalize_name(name),
                    "credit_code": first17 + check_character(first17),
                    "is_global500": False,
                    "is_china500": False,
                    "is_listed": n % 17 == 0,
                    "industry": None,
                    "region": "山东省青岛市",
                    **self.stamp(),
                }

        self.insert(Enterprise, rows())

    # --- leads, projects, history, contacts ----------------------------------------------

    def _standing(self) -> str:
        stages, weights = zip(*STANDING, strict=True)
        return self.rng.choices(stages, weights)[0]

    def _amount(self) -> Decimal:
        # Mostly 0.2 to 20亿元, a few above 50亿元.
        value = self.rng.lognormvariate(0.7, 1.2)
        return Decimal(str(round(min(value, 400.0), 2)))

    def _path(self, standing: str) -> tuple[list[tuple[str | None, str, dt.date]], str | None]:
        """The history rows (from, to, date) of a record and the stage it was held from."""
        span = (self.today - self.start).days
        opened = self.start + dt.timedelta(days=self.rng.randrange(span))
        target = standing
        held_from = None
        if standing in ("on_hold", "dropped"):
            target = self.rng.choice(MAIN[:3])
        upto = MAIN.index(target)
        steps: list[tuple[str | None, str, dt.date]] = []
        day, previous = opened, None
        for stage in MAIN[: upto + 1]:
            if previous is not None:
                day = day + dt.timedelta(days=self.rng.randint(5, 160))
                if day > self.today:  # not reached yet: the record stays where it is
                    return steps, None
            steps.append((previous, stage, day))
            previous = stage
        if standing in ("on_hold", "dropped"):
            day = day + dt.timedelta(days=self.rng.randint(5, 90))
            if day <= self.today:
                held_from = target if standing == "on_hold" else None
                steps.append((previous, standing, day))
        return steps, held_from

    def records(self) -> None:
        from app.pipeline.lifecycle import Stage, further, standing_days
        from app.pipeline.models import ContactLog, Lead, Project, StageChange

        n = self.n_records
        lead_rows, project_rows, history = [], [], []
        # One lead in a hundred is followed closely: thirty times the contacts of the others,
        # a timeline of a few hundred entries; the others share the rest evenly.
        busy = max(1, n // 100)
        busy_contacts = 30 * (self.n_contacts // n)
        rest = self.n_contacts - busy * busy_contacts
        contacts_per_lead = rest // (n - busy)
        extra_contacts = rest - contacts_per_lead * (n - busy)
        contact_rows: list[dict[str, Any]] = []
        for i in range(1, n + 1):
            standing = self._standing()
            steps, held_from = self._path(standing)
            stage = steps[-1][1]
            park = self.rng.choice(self.park_ids)
            links = self.links_by_park.get(park)
            link = self.rng.choice(links) if links and self.rng.random() < 0.8 else None
            owner = self.rng.choice(self.officers)
            enterprise = 1 + (i * 7919) % self.n_enterprises
            amount = self._amount()
            dates = {field: None for field in MILESTONES.values()}
            for _from, to, day in steps:
                if to in MILESTONES:
                    dates[MILESTONES[to]] = day
            # Contacts between the opening day and today; the last one is the stored date.
            if i % 100 == 0 and i // 100 <= busy:
                count = busy_contacts
            else:
                ordinal = i - min(i // 100, busy)  # among the leads that are not busy
                count = contacts_per_lead + (1 if ordinal <= extra_contacts else 0)
            first = steps[0][2]
            span = max((self.today - first).days, 1)
            days = sorted(first + dt.timedelta(days=self.rng.randrange(span)) for _ in range(count))
            for k, day in enumerate(days):
                contact_rows.append(
                    {
                        "lead_id": i,
                        "project_id": i if k % 3 == 0 else None,
                        "contact_type": CONTACT_TYPES[k % len(CONTACT_TYPES)],
                        "contact_on": day,
                        "summary": "走访企业，了解项目进展。",
                        "created_by_id": owner,
                        "created_at": self._moment(day),
                    }
                )
            common = {
                "id": i,
                "stage": stage,
                "opened_on": steps[0][2],
                "furthest_stage": functools.reduce(further, (Stage(s[1]) for s in steps), None),
                "stage_since": steps[-1][2],
                "held_from": held_from,
                "last_contact_on": days[-1] if days else None,
                "next_step": None,
                "next_step_due": None,
                "description": None,
                "owner_id": owner,
                "park_id": park,
                "chain_link_id": link,
                "enterprise_id": enterprise,
                **dates,
                **standing_days(stage, steps[-1][2], days[-1] if days else None),
                **self.stamp(),
                # Opened on its first day; last touched at its latest contact or move.
                "created_at": self._moment(first),
                "updated_at": self._moment(max([steps[-1][2], *days[-1:]])),
            }
            lead_rows.append(
                {
                    **common,
                    "title": f"项目洽谈{i}",
                    "source": "visit",
                    "estimated_investment": amount,
                }
            )
            project_rows.append(
                {
                    **common,
                    "lead_id": i,
                    "name": f"产业化项目{i}",
                    "total_investment": amount,
                    "fixed_asset_investment": None,
                    "planned_signing_on": None,
                    "planned_construction_on": None,
                    "planned_production_on": None,
                    "planned_full_production_on": None,
                }
            )
            since = None
            for previous, to, day in steps:
                for subject in (
                    {"lead_id": i, "project_id": None},
                    {"lead_id": None, "project_id": i},
                ):
                    history.append(
                        {
                            **subject,
                            "from_stage": previous,
                            "to_stage": to,
                            "effective_on": day,
                            "from_since": since,
                            "recorded_at": self.now,
                            "recorded_by_id": owner,
                        }
                    )
                since = day
            if len(lead_rows) >= BATCH:
                self._flush(
                    Lead,
                    Project,
                    StageChange,
                    ContactLog,
                    lead_rows,
                    project_rows,
                    history,
                    contact_rows,
                )
        self._flush(
            Lead, Project, StageChange, ContactLog, lead_rows, project_rows, history, contact_rows
        )

    def _flush(self, lead: Any, project: Any, change: Any, contact: Any, *lists: list) -> None:
        leads, projects, history, contacts = lists
        for model, rows in (
            (lead, leads),
            (project, projects),
            (change, history),
            (contact, contacts),
        ):
            self.insert(model, iter(rows))
            rows.clear()


def generate(database_url: str, scale: float, seed: int) -> dict[str, int]:
    """Migrate *database_url* and fill it; return the number of rows per table."""
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from app import create_app
    from app.core import search
    from app.core.timeutil import today_local
    from app.enterprises.models import Enterprise
    from app.extensions import db
    from app.parks.models import Park
    from app.pipeline.models import Lead, Project
    from config import database_url as normalise

    app = create_app("development", SQLALCHEMY_DATABASE_URI=normalise(database_url))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        if db.session.scalar(select(func.count()).select_from(Park)):
            raise SystemExit("The database is not empty: generate into a new database.")
        generator = Generator(db.session, scale, seed, today_local())
        started = time.perf_counter()
        generator.reference()
        generator.enterprises()
        generator.records()
        # The rows went in without the ORM: the names' pairs are added as the bulk import does.
        generator.counts["name_gram"] = search.rebuild(db.session, (Enterprise, Lead, Project))
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            for table in (
                "lead",
                "project",
                "stage_change",
                "contact_log",
                "enterprise",
                "user",
                "park",
                "chain",
                "chain_link",
            ):
                quoted = f'"{table}"'
                reset = f"SELECT setval(pg_get_serial_sequence('{quoted}', 'id'), (SELECT MAX(id) FROM {quoted}))"  # noqa: E501 - fixed table names
                db.session.execute(db.text(reset))
            db.session.commit()
            # Statistics and the visibility map (index-only scans), as autovacuum would leave them.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(db.text("VACUUM ANALYZE"))
        else:
            db.session.execute(db.text("ANALYZE"))
        db.session.commit()
        generator.counts["seconds"] = round(time.perf_counter() - started)
        db.session.remove()
        db.engine.dispose()  # no connection stays open (the database may be copied next)
        return generator.counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 100,000 projects")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    if args.database_url.startswith("sqlite:///"):
        Path(args.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    counts = generate(args.database_url, args.scale, args.seed)
    for table, count in counts.items():
        print(f"{table:>14}: {count:,}")


if __name__ == "__main__":
    main()
