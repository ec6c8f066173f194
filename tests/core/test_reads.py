"""Independent reads side by side (app.core.reads), on the suite's database engine."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, current_app
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.cockpit.services import Scope, cockpit_figures, forget_figures
from app.core.reads import run_reads, side_by_side
from app.core.timeutil import today_local
from app.demo.loader import load_demo
from app.extensions import db
from app.parks.models import Park
from app.pipeline.flags import load_thresholds
from app.pipeline.models import Lead, Project
from tests.test_migrations import migrated_scratch


def _where(name: str) -> Any:
    """A read that tells on which thread and session it ran, and how many parks it sees."""

    def read(session: Session) -> tuple[str, int, int]:
        parks = session.scalar(select(func.count()).select_from(Park))
        return name, threading.get_ident(), id(session), parks  # type: ignore[return-value]

    return read


def test_a_session_on_one_connection_reads_in_order_on_itself(session: Any) -> None:
    """The suite's rolled-back transaction is visible to its own connection only."""
    session.add(Park(code="RD", name="读取测试园"))
    session.flush()
    assert not side_by_side(session.get_bind())
    found = run_reads(session, {n: _where(n) for n in ("a", "b", "c")}, workers=2)
    assert list(found) == ["a", "b", "c"]
    assert {(thread, used) for _n, thread, used, _p in found.values()} == {
        (threading.get_ident(), id(session))
    }
    assert {parks for *_rest, parks in found.values()} == {
        session.scalar(select(func.count()).select_from(Park))
    }


def test_an_engine_reads_on_threads_of_their_own(app: Flask, tmp_path: Path) -> None:
    with migrated_scratch(app, tmp_path):
        db.session.add_all([Park(code=f"R{i}", name=f"读取园{i}") for i in range(3)])
        db.session.commit()
        assert side_by_side(db.session.get_bind())
        found = run_reads(db.session, {n: _where(n) for n in "abcd"}, workers=2)
        assert list(found) == list("abcd")
        threads = {thread for _n, thread, _s, _p in found.values()}
        assert threading.get_ident() not in threads
        assert id(db.session) not in {used for _n, _t, used, _p in found.values()}
        assert {parks for *_rest, parks in found.values()} == {3}
        if db.engine.dialect.name == "postgresql":
            # The readers share the cores: PostgreSQL starts no parallel workers of their own.
            show = text("SHOW max_parallel_workers_per_gather")
            workers = run_reads(db.session, {n: lambda s: s.scalar(show) for n in "ab"}, 2)
            assert set(workers.values()) == {"0"}
            assert db.session.scalar(show) != "0"

        # A failing read fails the call, once every read has finished.
        finished = []

        def slow(session: Session) -> int:
            finished.append(session.scalar(select(func.count()).select_from(Park)))
            return finished[-1]

        def broken(session: Session) -> int:
            raise ValueError("读取失败")

        with pytest.raises(ValueError, match="读取失败"):
            run_reads(db.session, {"broken": broken, "slow": slow}, workers=2)
        assert finished == [3]
        db.session.remove()


def test_the_cockpit_figures_are_the_same_side_by_side(app: Flask, tmp_path: Path) -> None:
    """The figure sets read on two connections equal those read one after another."""
    with migrated_scratch(app, tmp_path):
        load_demo(db.session)
        db.session.commit()
        today = today_local()
        scope = Scope(dt.date(today.year, 1, 1), dt.date(today.year, 12, 31), year=today.year)
        thresholds = load_thresholds(db.session)
        found = {}
        for role in (Role.LEADER, Role.MANAGER):
            user = db.session.scalar(select(User).where(User.role == role).limit(1))
            for workers in (1, 2):
                current_app.config["PARALLEL_READS"] = workers
                forget_figures()
                found[(role, workers)] = cockpit_figures(
                    db.session, user, scope, thresholds, today, Lead
                )
            assert found[(role, 1)] == found[(role, 2)]
            assert any(t.count for t in found[(role, 2)].by_stage[Project].values())
        forget_figures()
        db.session.remove()
