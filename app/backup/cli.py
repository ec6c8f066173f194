"""`flask backup create [-o FILE]` and `flask backup restore FILE`."""

from __future__ import annotations

from pathlib import Path

import click
from alembic.script import ScriptDirectory
from flask import current_app
from flask.cli import AppGroup

from app.backup.services import BackupError, create_backup, restore_backup
from app.core.i18n import in_chinese
from app.extensions import db

backup_cli = AppGroup("backup", help="备份与恢复 SQLite 数据库（PostgreSQL 请用 pg_dump）。")


def _scripts() -> ScriptDirectory:
    migrate = current_app.extensions["migrate"]
    return ScriptDirectory.from_config(migrate.migrate.get_config(migrate.directory))


@backup_cli.command("create")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="备份文件（默认 instance/backups/<数据库名>-<时间>.sqlite3）",
)
def create_command(output: Path | None) -> None:
    """Copy the database consistently, even while the application runs."""
    with in_chinese():
        try:
            path = create_backup(db.engine, output)
        except BackupError as exc:
            raise click.ClickException(exc.message) from None
    click.echo(f"已备份到 {path}")


@backup_cli.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="不再确认，直接恢复")
def restore_command(file: Path, yes: bool) -> None:
    """Replace the database with a backup (the current one is kept beside it first)."""
    with in_chinese():
        if not yes:
            click.confirm("恢复将用备份替换当前数据库的全部内容，确定继续吗？", abort=True)
        try:
            info, kept = restore_backup(db.engine, file, _scripts())
        except BackupError as exc:
            raise click.ClickException(exc.message) from None
    if kept is not None:
        click.echo(f"原数据库已另存为 {kept}")
    click.echo(f"已从 {info.path} 恢复（迁移版本 {info.revision}）。")
    if not info.is_head:
        click.echo("该备份早于当前版本，请运行 flask db upgrade。")
