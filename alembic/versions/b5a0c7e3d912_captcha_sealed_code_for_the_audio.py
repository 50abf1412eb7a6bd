"""captcha: the code sealed under the secret key, for «Прослушать код»

Revision ID: b5a0c7e3d912
Revises: 4534eb3b38d3
Create Date: 2026-12-07 12:40:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel

# revision identifiers, used by Alembic.
revision: str = 'b5a0c7e3d912'
down_revision: Union[str, Sequence[str], None] = '4534eb3b38d3'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema (challenges made before have no audio version)."""
    with op.batch_alter_table('lkk_captcha', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sealed_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('lkk_captcha', schema=None) as batch_op:
        batch_op.drop_column('sealed_code')
