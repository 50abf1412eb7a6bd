"""outbox: a per-letter seed, so a retried letter carries the same secret

Revision ID: 8d3b6f2e4a10
Revises: 5e1f0a9c3d27
Create Date: 2026-12-04 02:10:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel

# revision identifiers, used by Alembic.
revision: str = '8d3b6f2e4a10'
down_revision: Union[str, Sequence[str], None] = '5e1f0a9c3d27'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema (letters queued before keep minting a fresh secret per attempt)."""
    with op.batch_alter_table('lkk_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secret_seed', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('lkk_outbox', schema=None) as batch_op:
        batch_op.drop_column('secret_seed')
