"""Handoffs: when an agent took the conversation, and who wrote each logged message (agent or assistant).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('handoff_requests', sa.Column('taken_at', sa.DateTime(), nullable=True))
    op.add_column('conversation_log', sa.Column('author', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('conversation_log') as batch:
        batch.drop_column('author')
    with op.batch_alter_table('handoff_requests') as batch:
        batch.drop_column('taken_at')
