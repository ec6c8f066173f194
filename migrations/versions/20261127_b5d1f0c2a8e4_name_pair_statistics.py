"""PostgreSQL: statistics on the names' pairs by kind, for the search's plans

Revision ID: b5d1f0c2a8e4
Revises: 7c3e5a1b9d20
Create Date: 2026-11-27 14:50:00.000000

Without them PostgreSQL estimates every pair of a kind at a few thousand records (the pairs of
titles and of enterprise names share one column's statistics) and reads a search by testing
every title instead of through the pairs. SQLite has no such statistics; nothing to do there.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b5d1f0c2a8e4'
down_revision = '7c3e5a1b9d20'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('ALTER TABLE name_gram ALTER COLUMN gram SET STATISTICS 1000')
    op.execute('CREATE STATISTICS st_name_gram_kind_gram (mcv) ON kind, gram FROM name_gram')
    op.execute('ANALYZE name_gram')


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('DROP STATISTICS IF EXISTS st_name_gram_kind_gram')
    op.execute('ALTER TABLE name_gram ALTER COLUMN gram SET STATISTICS -1')
