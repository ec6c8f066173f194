"""Backup and restore of the SQLite database with SQLite's online backup API.

The backup API copies the database page by page inside one read transaction, so the copy is
consistent even while the web application and the scheduler keep writing (WAL mode). A restore
copies the other way, into the live database, after checking that the file is a database of
this application at a migration revision we know; the database as it was is kept beside it
first. PostgreSQL has its own tools (pg_dump / pg_restore, see docs/deployment.md): these
functions refuse it.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine, make_url

from app.core.exceptions import UserError
from app.core.i18n import gettext as _

SQLITE_MAGIC = b"SQLite format 3\x00"
# Tables every database of this application has, whatever its revision.
REQUIRED_TABLES = frozenset({"alembic_version", "user", "park", "enterprise", "lead", "audit_log"})


class BackupError(UserError):
    """A backup or restore that cannot be done; the message says why, in Chinese."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    revision: str
    is_head: bool
    tables: int


def database_file(engine: Engine) -> Path:
    """The SQLite file behind *engine*; refuse PostgreSQL and in-memory databases."""
    url = make_url(str(engine.url))
    if url.get_backend_name() != "sqlite":
        raise BackupError(
            _(
                "当前数据库是 %(backend)s，不能用本命令备份或恢复。PostgreSQL 请用 pg_dump "
                "备份、pg_restore 恢复（见 docs/deployment.md）。",
                backend=url.get_backend_name(),
            )
        )
    if not url.database or url.database == ":memory:":
        raise BackupError(_("内存数据库无法备份。"))
    return Path(url.database).resolve()


def default_backup_path(source: Path, now: dt.datetime | None = None) -> Path:
    """instance/backups/crm-20261127-081500.sqlite3 beside the database file."""
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return source.parent / "backups" / f"{source.stem}-{stamp}.sqlite3"


def _copy(source: sqlite3.Connection, target: sqlite3.Connection) -> None:
    # pages=-1: one step, so no writer can slip in between steps and restart the copy.
    source.backup(target, pages=-1)


def create_backup(engine: Engine, output: Path | None = None) -> Path:
    """Copy the live database to *output* (a new file) and return its path."""
    source_path = database_file(engine)
    if not source_path.exists():
        raise BackupError(_("数据库文件不存在：%(path)s", path=str(source_path)))
    target = (output or default_backup_path(source_path)).resolve()
    if target == source_path:
        raise BackupError(_("备份文件不能是数据库文件本身。"))
    if target.exists():
        raise BackupError(_("文件已存在，不会覆盖：%(path)s", path=str(target)))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    destination = sqlite3.connect(partial)
    try:
        _copy(source, destination)
    finally:
        destination.close()
        source.close()
    partial.replace(target)
    return target


def inspect_backup(path: Path, scripts: ScriptDirectory) -> BackupInfo:
    """Check that *path* is a sound database of this application at a known revision."""
    if not path.is_file():
        raise BackupError(_("找不到备份文件：%(path)s", path=str(path)))
    with path.open("rb") as handle:
        if handle.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise BackupError(_("这不是 SQLite 数据库文件：%(path)s", path=str(path)))
    connection = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    try:
        try:
            check = connection.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {
                row[0]
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        except sqlite3.DatabaseError as exc:
            raise BackupError(_("备份文件已损坏：%(error)s", error=str(exc))) from None
        if check != "ok":
            raise BackupError(_("备份文件已损坏：%(error)s", error=check))
        missing = REQUIRED_TABLES - tables
        if missing:
            raise BackupError(
                _("这不是本系统的数据库（缺少表：%(tables)s）。", tables="、".join(sorted(missing)))
            )
        revisions = [
            row[0] for row in connection.execute("SELECT version_num FROM alembic_version")
        ]
    finally:
        connection.close()
    known = {script.revision for script in scripts.walk_revisions()}
    if len(revisions) != 1 or revisions[0] not in known:
        raise BackupError(
            _(
                "备份的数据库版本（%(rev)s）不是本系统已知的迁移版本。",
                rev="、".join(revisions) or "-",
            )
        )
    return BackupInfo(
        path=path,
        revision=revisions[0],
        is_head=revisions[0] in scripts.get_heads(),
        tables=len(tables),
    )


def restore_backup(
    engine: Engine, path: Path, scripts: ScriptDirectory, keep_current: bool = True
) -> tuple[BackupInfo, Path | None]:
    """Replace the live database's content with the backup at *path*.

    Returns what was restored and where the database as it was has been kept (None when
    *keep_current* is off or there was no database yet).
    """
    target_path = database_file(engine)
    info = inspect_backup(path.resolve(), scripts)
    if info.path == target_path:
        raise BackupError(_("备份文件不能是数据库文件本身。"))
    kept = None
    if keep_current and target_path.exists():
        kept = create_backup(
            engine, default_backup_path(target_path).with_suffix(".before-restore")
        )
    # Connections held by this process's pool must not keep reading the old pages.
    engine.dispose()
    target_path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{info.path}?mode=ro", uri=True)
    destination = sqlite3.connect(target_path, timeout=30)
    try:
        _copy(source, destination)
    finally:
        destination.close()
        source.close()
    engine.dispose()
    return info, kept
