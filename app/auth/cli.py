"""`flask users ...`: account administration from the command line."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.auth.models import Role, User
from app.auth.services import AccountError, create_user
from app.auth.throttle import account_locked_until, unlock_account
from app.core.audit import set_actor
from app.core.i18n import in_chinese
from app.extensions import db

users_cli = AppGroup("users", help="管理用户账号。")


def _read_password() -> str:
    if sys.stdin.isatty():
        return click.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


@users_cli.command("create")
@click.argument("username")
@click.option(
    "--role",
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="officer 招商专员, manager 园区负责人, leader 领导, admin 系统管理员",
)
@click.option("--park", "parks", multiple=True, help="园区代码（园区负责人可多次指定）")
@click.option("--full-name", default="", help="姓名（默认同用户名）")
@click.option("--email", default=None, help="电子邮箱")
def create_user_command(
    username: str, role: str, parks: tuple[str, ...], full_name: str, email: str | None
) -> None:
    """Create an account; the password comes from a prompt or standard input, never an argument."""
    if parks and Role(role) is not Role.MANAGER:
        # Refused before the password is asked for: only a park manager is given parks.
        raise click.ClickException(
            f"只有园区负责人（manager）负责园区，{Role(role).label}不能指定 --park。"
        )
    password = _read_password()
    set_actor(db.session, None, "cli")
    # There is no request to choose a language from: the command speaks Chinese.
    with in_chinese():
        try:
            user = create_user(
                db.session,
                username=username,
                full_name=full_name or username,
                role=Role(role),
                password=password,
                park_codes=list(parks),
                email=email,
            )
            db.session.commit()
        except AccountError as exc:
            db.session.rollback()
            raise click.ClickException(exc.message) from None
        click.echo(f"已创建用户 {user.username}（{user.role.label}）")


@users_cli.command("unlock")
@click.argument("username")
def unlock_user_command(username: str) -> None:
    """Let USERNAME log in again after too many failed attempts (an administrator locked out
    of the pages included)."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"没有用户名为“{username}”的账号。")
    until = account_locked_until(current_app, user.username)
    unlock_account(current_app, user.username)
    if until is None:
        click.echo(f"{user.username} 没有被锁定。")
    else:
        click.echo(f"已解除 {user.username} 的登录锁定。")
