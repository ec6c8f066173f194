"""The day each lead and project was opened and the furthest stage it got to, stored

Revision ID: f3a9c1d7e2b6
Revises: b5d1f0c2a8e4
Create Date: 2026-11-27 18:00:00.000000

The cockpit's funnel and the lists' "opened in" and "got as far as" filters read every
record's stage history; the columns hold the answers (the opening row's day, and
app.pipeline.lifecycle.further over the history), kept by a session hook and by the bulk import.
Existing records are filled from their history here. The covering index that found the
opening rows of a period has no reader left and is dropped (every history row written paid for
it).
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f3a9c1d7e2b6'
down_revision = 'b5d1f0c2a8e4'
branch_labels = None
depends_on = None

STAGES = ('lead', 'contacted', 'negotiating', 'signed', 'construction', 'production',
          'full_production', 'on_hold', 'dropped')
# The main line in order, as app.pipeline.lifecycle.MAIN_LINE at this revision.
MAIN_LINE = STAGES[:7]


def _fill(table, subject):
    op.execute(
        f'UPDATE {table} SET opened_on = (SELECT min(effective_on) FROM stage_change '
        f"WHERE stage_change.{subject} = {table}.id AND from_stage IS NULL AND to_stage = 'lead')"
    )
    rank = ' '.join(f"WHEN '{stage}' THEN {i}" for i, stage in enumerate(MAIN_LINE))
    furthest = (
        f'SELECT max(CASE to_stage {rank} END) FROM stage_change '
        f'WHERE stage_change.{subject} = {table}.id'
    )
    op.execute(
        f"UPDATE {table} SET furthest_stage = CASE ({furthest}) "
        + ' '.join(f"WHEN {i} THEN '{s}'" for i, s in enumerate(MAIN_LINE))
        + ' END'
    )


def upgrade():
    for table, subject in (('lead', 'lead_id'), ('project', 'project_id')):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('opened_on', sa.Date(), nullable=True))
            batch_op.add_column(sa.Column('furthest_stage', sa.Enum(*STAGES, name='stage', native_enum=False, length=20), nullable=True))
        _fill(table, subject)
    with op.batch_alter_table('stage_change', schema=None) as batch_op:
        batch_op.drop_index('ix_stage_change_to_stage')


def downgrade():
    with op.batch_alter_table('stage_change', schema=None) as batch_op:
        batch_op.create_index('ix_stage_change_to_stage', ['to_stage', 'effective_on', 'from_stage', 'lead_id', 'project_id'], unique=False)
    for table in ('project', 'lead'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('furthest_stage')
            batch_op.drop_column('opened_on')
