"""The day a record turns stale and the day it has been too long in its stage, stored

Revision ID: a7c4e2f9b1d3
Revises: f3a9c1d7e2b6
Create Date: 2026-11-27 19:30:00.000000

Lists, digests and the cockpit tested every row's stage against its day limit and its last
contact against STALE_DAYS. Two columns hold the first day each is true
(app.pipeline.lifecycle.stale_on and too_long_on), kept by a session hook and by the bulk
import; existing records are filled here. The covering index of the cockpit's "now" figures
holds them instead of the two dates they come from. The numbers are lifecycle's at this
revision.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a7c4e2f9b1d3'
down_revision = 'f3a9c1d7e2b6'
branch_labels = None
depends_on = None

STALE_DAYS = 30
ACTIVE = ('lead', 'contacted', 'negotiating', 'signed', 'construction', 'production')
MAX_DAYS_IN_STAGE = (
    ('lead', 60),
    ('contacted', 90),
    ('negotiating', 180),
    ('signed', 180),
    ('construction', 540),
    ('production', 720),
)
TABLES = (('lead', 'estimated_investment'), ('project', 'total_investment'))


def _days_after(sqlite, column, days):
    return f"date({column}, '+{days} days')" if sqlite else f"({column} + {days})"


def _fill(table):
    sqlite = op.get_bind().dialect.name == 'sqlite'
    stages = ', '.join(f"'{stage}'" for stage in ACTIVE)
    never = "'0001-01-01'" if sqlite else "DATE '0001-01-01'"
    stale_on = (
        f"CASE WHEN stage IN ({stages}) THEN "
        f"coalesce({_days_after(sqlite, 'last_contact_on', STALE_DAYS + 1)}, {never}) END"
    )
    too_long_on = 'CASE ' + ' '.join(
        f"WHEN stage = '{stage}' THEN {_days_after(sqlite, 'stage_since', days + 1)}"
        for stage, days in MAX_DAYS_IN_STAGE
    ) + ' END'
    op.execute(f'UPDATE {table} SET stale_on = {stale_on}, too_long_on = {too_long_on}')


def upgrade():
    for table, amount in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('stale_on', sa.Date(), nullable=True))
            batch_op.add_column(sa.Column('too_long_on', sa.Date(), nullable=True))
        _fill(table)
        op.drop_index(f'ix_{table}_park_stage', table_name=table)
        op.create_index(f'ix_{table}_park_stage', table, ['park_id', 'stage', 'stale_on', 'too_long_on', amount, 'chain_link_id'], unique=False)


def downgrade():
    for table, amount in TABLES:
        op.drop_index(f'ix_{table}_park_stage', table_name=table)
        op.create_index(f'ix_{table}_park_stage', table, ['park_id', 'stage', 'last_contact_on', 'stage_since', amount, 'chain_link_id'], unique=False)
        # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch would copy the table, and
        # SQLite refuses to drop the old one while other tables' rows refer to it.
        op.drop_column(table, 'too_long_on')
        op.drop_column(table, 'stale_on')
