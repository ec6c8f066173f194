"""search by any part of a name: the character pairs of every name (app.core.search)

Revision ID: 7c3e5a1b9d20
Revises: 29d2d5146ee9
Create Date: 2026-11-27 14:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

from app.core.search import fill

# revision identifiers, used by Alembic.
revision = '7c3e5a1b9d20'
down_revision = '29d2d5146ee9'
branch_labels = None
depends_on = None

# (kind, table, column) as the models declare them in __search__ at this revision.
SEARCHED = ((1, 'enterprise', 'name'), (2, 'lead', 'title'), (3, 'project', 'name'))


def upgrade():
    op.create_table(
        'name_gram',
        sa.Column('kind', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('gram', sa.String(length=2), nullable=False),
        sa.Column('ref_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint('kind', 'gram', 'ref_id', name=op.f('pk_name_gram')),
        sqlite_with_rowid=False,
    )
    connection = op.get_bind()
    for kind, table, column in SEARCHED:
        names = connection.execute(sa.text(f'SELECT id, {column} FROM "{table}"')).all()
        fill(connection, kind, names)


def downgrade():
    op.drop_table('name_gram')
