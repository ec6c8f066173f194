"""The API's orders read an index: by name, by the day the stage began, by last contact and amount

Revision ID: e1b7c3a9d5f2
Revises: c5e8a1f3d7b9
Create Date: 2026-11-28 11:40:00.000000

The API sorts leads and projects by name and by the day their stage began: without an index on
either, every page sorted all 100,000 records (400 ms). The sorts by last contact and by amount
break ties by id: with the id in their indexes, PostgreSQL seeks a cursor's position in the
index instead of sorting each day's or each amount's records.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e1b7c3a9d5f2'
down_revision = 'c5e8a1f3d7b9'
branch_labels = None
depends_on = None

NEW = (
    ('ix_lead_title', 'lead', 'title'),
    ('ix_lead_stage_since', 'lead', 'stage_since'),
    ('ix_project_name', 'project', 'name'),
    ('ix_project_stage_since', 'project', 'stage_since'),
)
WITH_ID = (
    ('ix_lead_last_contact', 'lead', 'last_contact_on'),
    ('ix_lead_investment', 'lead', 'estimated_investment'),
    ('ix_project_last_contact', 'project', 'last_contact_on'),
    ('ix_project_investment', 'project', 'total_investment'),
)


def upgrade():
    for name, table, column in NEW:
        op.create_index(name, table, [column, 'id'], unique=False)
    for name, table, column in WITH_ID:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column, 'id'], unique=False)


def downgrade():
    for name, table, column in WITH_ID:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column], unique=False)
    for name, table, _column in NEW:
        op.drop_index(name, table_name=table)
