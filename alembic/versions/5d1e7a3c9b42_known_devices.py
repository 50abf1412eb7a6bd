"""known devices (login throttling per login and device)

Revision ID: 5d1e7a3c9b42
Revises: 8d3b6f2e4a10
Create Date: 2026-12-02 10:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel

# revision identifiers, used by Alembic.
revision: str = '5d1e7a3c9b42'
down_revision: Union[str, Sequence[str], None] = '8d3b6f2e4a10'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('lkk_device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['lkk_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash', 'user_id', name='uq_lkk_device_token_user')
    )
    with op.batch_alter_table('lkk_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lkk_device_last_seen_at'), ['last_seen_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_lkk_device_token_hash'), ['token_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_lkk_device_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('lkk_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lkk_device_user_id'))
        batch_op.drop_index(batch_op.f('ix_lkk_device_token_hash'))
        batch_op.drop_index(batch_op.f('ix_lkk_device_last_seen_at'))

    op.drop_table('lkk_device')
