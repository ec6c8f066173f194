"""Contact logs can be corrected and removed: a version counter, an updated stamp, and the
indexes that find a removed contact's audit rows

Revision ID: 5b2d8e61c4a7
Revises: e1b7c3a9d5f2
Create Date: 2026-11-29 03:20:00.000000

A contact's author or a manager of its record may now correct or remove it; the version
refuses a change made from an outdated page, as on leads and projects. Existing contacts start
at version 1 and were last changed when they were logged. A removal is logged with every value
the contact held; its record's history finds it by the lead or project id it logged, through
two partial indexes of those rows alone. On SQLite, contact_log, enterprise_contact and
annual_target (the audited tables whose rows users delete) become AUTOINCREMENT: a deleted row's
id is never given to a new one, whose audit rows would otherwise join the deleted one's.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '5b2d8e61c4a7'
down_revision = 'e1b7c3a9d5f2'
branch_labels = None
depends_on = None

FIELDS = ('lead_id', 'project_id')
DELETABLE = ('enterprise_contact', 'annual_target')


def upgrade():
    with op.batch_alter_table('contact_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))
    op.execute('UPDATE contact_log SET updated_at = created_at')
    # On SQLite the table is copied here, now with AUTOINCREMENT: the id of a removed contact is
    # never given to a new one, whose audit rows would otherwise join the removed one's.
    with op.batch_alter_table(
        'contact_log', schema=None, table_kwargs={'sqlite_autoincrement': True}
    ) as batch_op:
        batch_op.alter_column('version', server_default=None)
        batch_op.alter_column('updated_at', existing_type=sa.DateTime(), nullable=False)
    # The other tables whose rows users delete are copied with AUTOINCREMENT too (SQLite only).
    if op.get_bind().dialect.name == 'sqlite':
        for table in DELETABLE:
            with op.batch_alter_table(
                table, recreate='always', table_kwargs={'sqlite_autoincrement': True}
            ):
                pass
    for field in FIELDS:
        removal = sa.text(
            f"entity = 'contact_log' AND action = 'delete' AND field = '{field}'"
        )
        op.create_index(
            f'ix_audit_log_removed_{field}', 'audit_log', ['old_value'], unique=False,
            sqlite_where=removal, postgresql_where=removal,
        )


def downgrade():
    for field in FIELDS:
        op.drop_index(f'ix_audit_log_removed_{field}', table_name='audit_log')
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+), as the other downgrades do.
    op.drop_column('contact_log', 'updated_at')
    op.drop_column('contact_log', 'version')
