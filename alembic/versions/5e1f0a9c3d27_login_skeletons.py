"""look-alike logins: a unique confusables skeleton per login

Revision ID: 5e1f0a9c3d27
Revises: 0999d677ac73
Create Date: 2026-12-04 01:30:00.000000

"""
import logging
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel

# revision identifiers, used by Alembic.
revision: str = '5e1f0a9c3d27'
down_revision: Union[str, Sequence[str], None] = '0999d677ac73'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    """Add lkk_user.login_skeleton, fill it for every existing login, then make it unique.

    Existing accounts that already look alike keep working: the oldest of each
    group gets the skeleton, the others keep NULL (a unique index allows any
    number of NULLs), and no new look-alike of any of them can be registered,
    because registration also compares the skeleton of every new login."""
    from lkk_app.auth.validation import login_skeleton

    with op.batch_alter_table('lkk_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('login_skeleton', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True))

    conn = op.get_bind()
    users = sa.table('lkk_user', sa.column('id', sa.Integer), sa.column('login', sa.String),
                     sa.column('login_skeleton', sa.String))
    seen: set[str] = set()
    for user_id, login in conn.execute(sa.select(users.c.id, users.c.login).order_by(users.c.id)).all():
        value = login_skeleton(login)
        if not value or value in seen:
            log.warning("lkk_user %s: its login looks like an older one; no skeleton stored", user_id)
            continue
        seen.add(value)
        conn.execute(sa.update(users).where(users.c.id == user_id).values(login_skeleton=value))

    with op.batch_alter_table('lkk_user', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_lkk_user_login_skeleton', ['login_skeleton'])


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('lkk_user', schema=None) as batch_op:
        batch_op.drop_constraint('uq_lkk_user_login_skeleton', type_='unique')
        batch_op.drop_column('login_skeleton')
