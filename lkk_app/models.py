"""Database tables (SQLModel).  Every table of the cabinet is defined here.

All timestamps are naive UTC (``lkk_app.services.clock.utcnow``), the same on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


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
    email_confirmed_at: datetime | None = Field(default=None)
    last_login_at: datetime | None = Field(default=None)
    created_at: datetime = Field()
    updated_at: datetime = Field()


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
    created_at: datetime = Field()
    last_seen_at: datetime = Field()
    expires_at: datetime = Field()
    revoked_at: datetime | None = Field(default=None)
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=512)
