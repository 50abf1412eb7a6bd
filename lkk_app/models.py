"""Database tables (SQLModel).  Every table of the cabinet is defined here.

All timestamps are naive UTC (``lkk_app.services.clock.utcnow``), the same on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

# SQLModel >= 0.0.50 maps a plain ``datetime`` annotation to its ``UTCDateTime``,
# which refuses naive values; every column here is naive UTC instead, so the
# type is given explicitly (TIMESTAMP WITHOUT TIME ZONE on PostgreSQL).
NaiveUTC = sa.DateTime(timezone=False)


class User(SQLModel, table=True):
    __tablename__ = "lkk_user"

    id: int | None = Field(default=None, primary_key=True)
    # The login as the user typed it, and its normalised key (NFKC + casefold),
    # which is what makes ``Ivan`` and ``ivan`` the same account.
    login: str = Field(max_length=32)
    login_key: str = Field(max_length=64, unique=True)
    email: str = Field(max_length=254)
    email_key: str = Field(max_length=254, index=True)
    phone: str | None = Field(default=None, max_length=16)
    password_hash: str = Field(max_length=128)
    email_confirmed_at: datetime | None = Field(default=None, sa_type=NaiveUTC)
    last_login_at: datetime | None = Field(default=None, sa_type=NaiveUTC)
    created_at: datetime = Field(sa_type=NaiveUTC)
    updated_at: datetime = Field(sa_type=NaiveUTC)


class UserSession(SQLModel, table=True):
    """A server-side login session.  The browser holds only the random token;
    this row holds its SHA-256."""

    __tablename__ = "lkk_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("lkk_user.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    created_at: datetime = Field(sa_type=NaiveUTC)
    last_seen_at: datetime = Field(sa_type=NaiveUTC)
    expires_at: datetime = Field(sa_type=NaiveUTC)
    revoked_at: datetime | None = Field(default=None, sa_type=NaiveUTC)
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=512)
