"""The application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_login import current_user

from app.auth.services import configure_hasher
from app.extensions import babel, csrf, db, login_manager, migrate
from config import get_config


def create_app(config: str | type | None = None, **overrides: Any) -> Flask:
    """Create and configure the application."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(
        get_config(config) if config is None or isinstance(config, str) else config
    )
    app.config.update(overrides)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY must be set in the environment outside development.")

    register_extensions(app)
    configure_hasher(
        app.config["ARGON2_TIME_COST"],
        app.config["ARGON2_MEMORY_COST"],
        app.config["ARGON2_PARALLELISM"],
    )
    register_models()
    register_blueprints(app)
    register_cli(app)
    register_template_helpers(app)
    register_error_handlers(app)
    register_hooks(app)
    register_security(app)
    register_scheduler(app)
    return app


def register_models() -> None:
    """Import every model module so that the metadata is complete (for Alembic and create_all)."""
    import app.api.models
    import app.auth.models
    import app.core.audit
    import app.core.search
    import app.core.settings
    import app.digests.models
    import app.enterprises.models
    import app.parks.models
    import app.pipeline.models
    import app.targets.models  # noqa: F401


def register_extensions(app: Flask) -> None:
    from app.core.i18n import init_i18n, select_locale

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.config.get("MIGRATIONS_DIR", "migrations")))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: "Asia/Shanghai")
    init_i18n(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        from app.core.sqlite import enable_sqlite_pragmas

        with app.app_context():
            enable_sqlite_pragmas(db.engine)
    elif app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        from app.core.postgresql import configure_postgresql

        with app.app_context():
            configure_postgresql(
                db.engine, jit=app.config["POSTGRES_JIT"], prepare=app.config["POSTGRES_PREPARE"]
            )


def register_blueprints(app: Flask) -> None:
    from app.api import init_api
    from app.auth.views import bp as auth_bp
    from app.cockpit.views import bp as cockpit_bp
    from app.digests.views import bp as digests_bp
    from app.enterprises.views import bp as enterprises_bp
    from app.ledger.views import bp as ledger_bp
    from app.parks.views import bp as parks_bp
    from app.pipeline.views import bp as pipeline_bp
    from app.targets.views import bp as targets_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(pipeline_bp)
    app.register_blueprint(enterprises_bp)
    app.register_blueprint(parks_bp)
    app.register_blueprint(digests_bp)
    app.register_blueprint(ledger_bp)
    app.register_blueprint(targets_bp)
    app.register_blueprint(cockpit_bp)
    init_api(app)  # the JSON API under /api/v1, its docs and the token pages (app/api)


def register_cli(app: Flask) -> None:
    from app.auth.cli import users_cli
    from app.backup.cli import backup_cli
    from app.demo.cli import demo_cli
    from app.digests.cli import digests_cli
    from app.ledger.cli import ledger_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(digests_cli)
    app.cli.add_command(ledger_cli)
    app.cli.add_command(backup_cli)


def register_scheduler(app: Flask) -> None:
    """Development only, off by default: the digest scheduler inside the web process."""
    from app.digests.cli import start_web_scheduler

    start_web_scheduler(app)


def register_template_helpers(app: Flask) -> None:
    from app.core.templating import init_templating

    init_templating(app)


def register_error_handlers(app: Flask) -> None:
    from app.core.errors import init_error_handlers

    init_error_handlers(app)


def register_security(app: Flask) -> None:
    """Security headers and the proxy (app/core/security.py), login attempt limits."""
    from app.auth.throttle import init_login_limits
    from app.core.security import allow_framing_by_self, init_security

    init_security(app)
    # The preferences page shows the digest preview in a sandboxed <iframe>.
    allow_framing_by_self(app, "digests.preview")
    init_login_limits(app)


def register_hooks(app: Flask) -> None:
    from app.core.audit import set_actor

    @app.before_request
    def _remember_actor() -> None:
        if current_user.is_authenticated:
            set_actor(db.session, current_user.id, "web")
