"""session version on users; the database refuses to change or delete audit rows

Revision ID: 8624449f972a
Revises: de28e98df71b
Create Date: 2026-11-27 05:12:46.476983

`user.session_version` is part of the id kept in login sessions: raising it ends them.

The audit log is append-only in the application (its ORM class refuses updates and deletes);
these triggers make the database refuse them too, whoever connects. One update stays possible:
the foreign key's ON DELETE SET NULL clearing `actor_id` when a user row is deleted, with every
other column unchanged.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8624449f972a'
down_revision = 'de28e98df71b'
branch_labels = None
depends_on = None

COLUMNS = ("id", "at", "source", "entity", "entity_id", "action", "field", "old_value", "new_value")

POSTGRESQL_UPGRADE = [
    f"""
    CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND NEW.actor_id IS NULL
           AND ROW({", ".join(f"NEW.{c}" for c in COLUMNS)})
               IS NOT DISTINCT FROM ROW({", ".join(f"OLD.{c}" for c in COLUMNS)}) THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
    """,
    """
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()
    """,
]
POSTGRESQL_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
    "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
    "DROP FUNCTION IF EXISTS audit_log_append_only()",
]

SQLITE_UPGRADE = [
    f"""
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    WHEN NOT (NEW.actor_id IS NULL AND {" AND ".join(f"NEW.{c} IS OLD.{c}" for c in COLUMNS)})
    BEGIN
        SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused');
    END
    """,
    """
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN
        SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused');
    END
    """,
]
SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS audit_log_no_delete",
    "DROP TRIGGER IF EXISTS audit_log_no_update",
]


def _statements(postgresql, sqlite):
    name = op.get_bind().dialect.name
    if name == "postgresql":
        return postgresql
    if name == "sqlite":
        return sqlite
    raise NotImplementedError(f"no audit log guard for {name}")


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='1', nullable=False))
    for statement in _statements(POSTGRESQL_UPGRADE, SQLITE_UPGRADE):
        op.execute(statement)


def downgrade():
    for statement in _statements(POSTGRESQL_DOWNGRADE, SQLITE_DOWNGRADE):
        op.execute(statement)
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('session_version')
