"""Contact logs can be corrected and removed: a version counter and an updated stamp

Revision ID: 5b2d8e61c4a7
Revises: e1b7c3a9d5f2
Create Date: 2026-11-29 03:20:00.000000

A contact's author or a manager of its record may now correct or remove it; the version
refuses a change made from an outdated page, as on leads and projects. Existing contacts start
at version 1 and were last changed when they were logged.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '5b2d8e61c4a7'
down_revision = 'e1b7c3a9d5f2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('contact_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))
    op.execute('UPDATE contact_log SET updated_at = created_at')
    with op.batch_alter_table('contact_log', schema=None) as batch_op:
        batch_op.alter_column('version', server_default=None)
        batch_op.alter_column('updated_at', existing_type=sa.DateTime(), nullable=False)


def downgrade():
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+), as the other downgrades do.
    op.drop_column('contact_log', 'updated_at')
    op.drop_column('contact_log', 'version')
