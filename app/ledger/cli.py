"""`flask ledger import|export|report`: the ledger pages from the shell."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.auth.models import Role, User
from app.core.audit import set_actor
from app.core.exceptions import UserError
from app.extensions import db
from app.parks.models import Park
from app.pipeline.lifecycle import Stage
from app.pipeline.queries import ListFilters

ledger_cli = AppGroup("ledger", help="导入、导出台账，生成统计报表。")


def _user(username: str | None) -> User:
    if username is None:
        user = db.session.scalar(
            select(User).where(User.role == Role.ADMIN, User.active.is_(True)).order_by(User.id)
        )
        if user is None:
            raise click.ClickException("没有在职的系统管理员，请用 --as 指定用户。")
        return user
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        raise click.ClickException(f"找不到在职用户：{username}")
    return user


@ledger_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="只检查，不写入。")
@click.option("--as", "username", required=True, help="以该用户的身份导入（用户名）。")
def import_command(file: Path, dry_run: bool, username: str) -> None:
    """Import a ledger (.xlsx, .xls or .csv)."""
    from app.ledger.importer import ERROR, apply_import, plan_import, read_ledger

    user = _user(username)
    if user.role not in (Role.OFFICER, Role.MANAGER, Role.ADMIN):
        raise click.ClickException("该用户没有导入权限。")
    cfg = current_app.config
    try:
        parsed = read_ledger(
            file.read_bytes(),
            file.name,
            max_bytes=cfg["LEDGER_MAX_BYTES"],
            max_rows=cfg["LEDGER_MAX_ROWS"],
            max_uncompressed=cfg["LEDGER_MAX_UNCOMPRESSED_BYTES"],
        )
        plan = plan_import(db.session, user, parsed)
    except UserError as exc:
        raise click.ClickException(exc.message) from None
    for row in plan.rows:
        if row.outcome == ERROR or dry_run:
            click.echo(f"第{row.number}行\t{row.outcome_label}\t{row.message}")
    counts = plan.counts
    click.echo(
        f"新增{counts['create']}行，更新{counts['update']}行，跳过{counts['skip']}行，"
        f"错误{counts['error']}行。"
    )
    if dry_run:  # planning reads only: there is nothing to roll back
        click.echo("试运行：未写入任何数据。")
        return
    if plan.has_errors:
        raise click.ClickException("存在错误行，未导入任何数据。请修改后重试。")
    try:
        result = apply_import(db.session, user, plan)
        db.session.commit()
    except UserError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    click.echo(
        f"已导入：企业{result.enterprises}家、线索{result.leads}条、项目{result.projects}个，"
        f"更新{result.updated}条，待确认阶段变更{result.proposals}项。"
    )


@ledger_cli.command("export")
@click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path))
@click.option("--kind", type=click.Choice(["leads", "projects"]), default="projects")
@click.option("--park", "park_code", help="园区代码。")
@click.option("--stage", type=click.Choice([s.value for s in Stage]))
@click.option("--tier", type=click.Choice(["big", "major", "yi"]))
@click.option("--as", "username", required=True, help="以该用户的可见范围导出（用户名）。")
def export_command(
    output: Path,
    kind: str,
    park_code: str | None,
    stage: str | None,
    tier: str | None,
    username: str,
) -> None:
    """Export a ledger as .xlsx or .csv (by the output file's extension)."""
    from app.ledger.exporter import export_ledger

    user = _user(username)
    set_actor(db.session, user.id, "cli")
    args: dict[str, str] = {}
    if park_code:
        park = db.session.scalar(select(Park).where(Park.code == park_code.upper()))
        if park is None:
            raise click.ClickException(f"找不到园区：{park_code}")
        args["park"] = str(park.id)
    if stage:
        args["stage"] = stage
    if tier:
        args["tier"] = tier
    fmt = "csv" if output.suffix.lower() == ".csv" else "xlsx"
    data = export_ledger(db.session, user, kind, ListFilters.from_args(args), fmt)
    output.write_bytes(data)
    click.echo(f"已导出到 {output}")


@ledger_cli.command("report")
@click.option("--period", required=True, help="2026、2026-Q1 或 2026-03")
@click.option("--park", "park_code", help="园区代码。")
@click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path))
@click.option("--as", "username", help="以该用户的可见范围统计（默认：系统管理员）。")
def report_command(period: str, park_code: str | None, output: Path, username: str | None) -> None:
    """Write the statistical report of a year, quarter or month."""
    from app.ledger.reports import Period, report_workbook

    user = _user(username)
    try:
        parsed = Period.parse(period)
        data = report_workbook(db.session, user, parsed, park_code=park_code)
    except (ValueError, UserError) as exc:
        raise click.ClickException(getattr(exc, "message", None) or str(exc)) from None
    output.write_bytes(data)
    click.echo(f"已生成报表 {output}")
