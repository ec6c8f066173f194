"""park board: the largest cards of a stage in amount order

Revision ID: 29d2d5146ee9
Revises: d1738024d403
Create Date: 2026-11-27 10:45:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '29d2d5146ee9'
down_revision = 'd1738024d403'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.create_index('ix_lead_board', ['park_id', 'stage', 'estimated_investment', 'id'], unique=False)
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.create_index('ix_project_board', ['park_id', 'stage', 'total_investment', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_index('ix_project_board')
    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.drop_index('ix_lead_board')
