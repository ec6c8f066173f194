"""The milestone date indexes cover the cockpit's counts; the chain map's order per link

Revision ID: c5e8a1f3d7b9
Revises: a7c4e2f9b1d3
Create Date: 2026-11-27 19:40:00.000000

Projects signed, started and producing in a period are counted per park, tier and month (the
cockpit, the targets, the reports): with the park, the amount and the chain link in each
milestone date's index, the counts read the index alone instead of every project of the period.
The chain map shows the largest records of each link: an index on (link, amount, id) makes that
a short read per link. Time in stage looks for moves written without the day their stay began
(none since that column exists): a partial index of those alone finds none at once, where the
index of every move of the period was read to the end.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c5e8a1f3d7b9'
down_revision = 'a7c4e2f9b1d3'
branch_labels = None
depends_on = None

MILESTONES = ('signed_on', 'construction_on', 'production_on')
LINK_ORDER = (('lead', 'estimated_investment'), ('project', 'total_investment'))
WITHOUT_SINCE = 'from_since IS NULL AND from_stage IS NOT NULL'


def upgrade():
    for column in MILESTONES:
        op.drop_index(f'ix_project_{column}', table_name='project')
        op.create_index(f'ix_project_{column}', 'project', [column, 'park_id', 'total_investment', 'chain_link_id'], unique=False)
    for table, amount in LINK_ORDER:
        op.create_index(f'ix_{table}_link', table, ['chain_link_id', amount, 'id'], unique=False)
    op.create_index('ix_stage_change_without_since', 'stage_change', ['effective_on', 'from_stage', 'lead_id', 'project_id', 'from_since'], unique=False, sqlite_where=sa.text(WITHOUT_SINCE), postgresql_where=sa.text(WITHOUT_SINCE))


def downgrade():
    op.drop_index('ix_stage_change_without_since', table_name='stage_change')
    for table, _amount in LINK_ORDER:
        op.drop_index(f'ix_{table}_link', table_name=table)
    for column in MILESTONES:
        op.drop_index(f'ix_project_{column}', table_name='project')
        op.create_index(f'ix_project_{column}', 'project', [column], unique=False)
