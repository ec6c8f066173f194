"""`flask demo load`: fill an empty database with reproducible demo data."""

from __future__ import annotations

import unicodedata

import click
from flask.cli import AppGroup

from app.core.i18n import in_chinese
from app.demo.loader import DemoResult, load_demo
from app.extensions import db

__all__ = ["DemoResult", "demo_cli", "load_demo"]

demo_cli = AppGroup("demo", help="演示数据。")


def _pad(text: str, width: int) -> str:
    """Pad *text* with spaces to *width* terminal columns (CJK characters take two)."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(width - used, 1)


@demo_cli.command("load")
def load_command() -> None:
    """Load demo parks, chains, accounts, enterprises, leads and projects into an empty database."""
    result = load_demo(db.session)
    if result is None:
        db.session.rollback()
        click.echo("数据库中已有数据（园区、用户或企业），未做任何改动。演示数据只能载入空数据库。")
        return
    db.session.commit()
    click.echo(
        f"已载入演示数据：{result.parks}个园区，{result.chains}条产业链（{result.links}个环节），"
        f"{len(result.accounts)}个账号，{result.enterprises}家企业，{result.leads}条线索，"
        f"{result.projects}个项目，{result.stage_changes}条阶段记录，{result.contacts}条联系记录。"
    )
    click.echo("")
    click.echo("演示账号：")
    click.echo(
        "  "
        + _pad("用户名", 11)
        + _pad("角色", 12)
        + _pad("姓名", 12)
        + _pad("密码", 12)
        + "负责园区"
    )
    with in_chinese():
        for account in result.accounts:
            click.echo(
                "  "
                + _pad(account.username, 11)
                + _pad(account.role.label, 12)
                + _pad(account.full_name, 12)
                + _pad(result.password, 12)
                + ("、".join(account.parks) or "—")
            )


@demo_cli.command("results-2022")
def results_2022_command() -> None:
    """Add projects shaped like the office's published 2022 results (for the cockpit)."""
    from app.demo.results2022 import MissingWorldError, already_loaded, load_results_2022

    if already_loaded(db.session):
        click.echo("2022年成果样本数据已存在，未做任何改动。")
        return
    try:
        added = load_results_2022(db.session)
    except MissingWorldError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(
        f"已载入2022年成果样本数据：{added}个项目（亿元以上320个，其中50亿元以上15个；"
        "芯屏产业项目50个，总投资1500亿元）。在驾驶舱选择2022年查看。"
    )
