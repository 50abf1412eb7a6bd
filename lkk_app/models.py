"""Database tables (SQLModel).  Every table of the cabinet is defined here.

All timestamps are naive UTC (``lkk_app.core.clock.utcnow``), the same on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

# SQLModel >= 0.0.50 maps a plain ``datetime`` annotation to its ``UTCDateTime``,
# which refuses naive values; every column here is naive UTC instead, so the
# type is given explicitly (TIMESTAMP WITHOUT TIME ZONE on PostgreSQL).
NaiveUTC = sa.DateTime(timezone=False)


class DecimalText(sa.types.TypeDecorator[Decimal]):
    """A ``Decimal`` stored as its exact text (SQLite has no exact numeric type);
    migrations write the column as ``sa.String(32)``."""

    impl = sa.String(32)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else format(Decimal(value), "f")

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


def saved_id(row: SQLModel) -> int:
    """The primary key of a stored row (``id`` is ``None`` only before the first flush)."""
    value = getattr(row, "id", None)
    if not isinstance(value, int):
        raise ValueError(f"{type(row).__name__} has no id yet")
    return value


class User(SQLModel, table=True):
    __tablename__ = "lkk_user"

    id: int | None = Field(default=None, primary_key=True)
    # The login as the user typed it, and its normalised key (NFKC + casefold),
    # which is what makes ``Ivan`` and ``ivan`` the same account.
    login: str = Field(max_length=32)
    login_key: str = Field(max_length=64, unique=True)
    # Its UTS #39 confusables skeleton (``validation.login_skeleton``): unique,
    # so ``ivanоv`` with a Cyrillic «о» cannot sit beside ``ivanov``.  Empty
    # (NULL) only for rows older than the column that already looked alike.
    login_skeleton: str | None = Field(default=None, max_length=128, unique=True)
    email: str = Field(max_length=254)
    email_key: str = Field(max_length=254, index=True)
    phone: str | None = Field(default=None, max_length=16)
    password_hash: str = Field(max_length=128)
    email_confirmed_at: datetime | None = Field(default=None, sa_type=NaiveUTC)
    last_login_at: datetime | None = Field(default=None, sa_type=NaiveUTC)
    # The login before the last one: «Последний вход» in «Профиль» (the last one is now).
    previous_login_at: datetime | None = Field(default=None, sa_type=NaiveUTC)
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
    # Opened with a temporary password: allows only "set your own password".
    must_change_password: bool = Field(
        default=False, sa_column_kwargs={"server_default": sa.false()}
    )


class OneTimeColumns(SQLModel):
    """When a one-time secret (a token, a captcha answer, a curator's code) was
    made, stops working, and was spent; expired rows are deleted by housekeeping."""

    created_at: datetime = Field(sa_type=NaiveUTC)
    expires_at: datetime = Field(index=True, sa_type=NaiveUTC)
    used_at: datetime | None = Field(default=None, sa_type=NaiveUTC)


class OneTimeToken(OneTimeColumns, table=True):
    """A single-use secret sent by mail (confirmation link, temporary password).
    Only its SHA-256 is stored; bound to one user and one purpose."""

    __tablename__ = "lkk_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("lkk_user.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    purpose: str = Field(max_length=32)


class CaptchaChallenge(OneTimeColumns, table=True):
    """«Код авторизации»: the answer is kept only here, hashed; one guess each.
    ``sealed_code``: the code encrypted under the secret key, for «Прослушать код»
    (``auth/captcha.py: seal``); NULL in rows made before it existed."""

    __tablename__ = "lkk_captcha"

    id: int | None = Field(default=None, primary_key=True)
    challenge_id: str = Field(max_length=64, unique=True)
    answer_hash: str = Field(max_length=64)
    sealed_code: str | None = Field(default=None, max_length=64)


class QueueColumns(SQLModel):
    """The columns a durable job queue works on (:mod:`lkk_app.jobs.queue`), for the
    tables of its jobs.  ``status`` holds the queue's ``Statuses``."""

    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(index=True, sa_type=NaiveUTC)
    locked_until: datetime | None = Field(default=None, sa_type=NaiveUTC)
    expires_at: datetime | None = Field(default=None, sa_type=NaiveUTC)
    last_error: str = Field(default="", max_length=500)


class OutboxMessage(QueueColumns, table=True):
    """A letter waiting to be sent (or sent, or failed).  Written in the same
    transaction as the data it belongs to; a background sender delivers it.

    No secret is stored here: a letter that carries a link or a temporary
    password names the ``secret_purpose``, and the sender mints that one-time
    secret (stored hashed in ``lkk_token``) just before it renders the letter."""

    __tablename__ = "lkk_outbox"

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=255, unique=True)
    kind: str = Field(max_length=32)
    user_id: int | None = Field(default=None, index=True)
    recipient: str = Field(max_length=254)
    template: str = Field(max_length=64)
    params_json: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False))
    secret_purpose: str | None = Field(default=None, max_length=32)
    # Random, and useless without LKK_SECRET_KEY: the letter's secret is
    # derived from key and seed, so a retry of the letter carries the same link
    # or temporary password (a slow server that got the first copy does not
    # make it void).  Cleared once the letter is sent or failed.
    secret_seed: str | None = Field(default=None, max_length=64)
    # QueueColumns; status: pending|sending|sent|failed
    created_at: datetime = Field(sa_type=NaiveUTC)
    sent_at: datetime | None = Field(default=None, sa_type=NaiveUTC)


class RateEvent(SQLModel, table=True):
    """One counted action for rate limits (mail sends, failed logins per IP)."""

    __tablename__ = "lkk_rate_event"

    id: int | None = Field(default=None, primary_key=True)
    bucket: str = Field(max_length=128, index=True)
    created_at: datetime = Field(index=True, sa_type=NaiveUTC)


class AuditEvent(SQLModel, table=True):
    """Security audit trail: who did what, when (UTC), from where, with what result.
    Never holds a password, token, captcha answer or key."""

    __tablename__ = "lkk_audit"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(index=True, sa_type=NaiveUTC)
    event: str = Field(max_length=32, index=True)
    result: str = Field(max_length=16)
    user_id: int | None = Field(default=None, index=True)
    login: str = Field(default="", max_length=64)
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=512)
    detail: str = Field(default="", max_length=200)


class LoginThrottle(SQLModel, table=True):
    """Consecutive failed logins per login name — known or not, so that a
    throttled answer cannot tell whether an account exists."""

    __tablename__ = "lkk_login_throttle"

    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(max_length=64, unique=True)
    failures: int = Field(default=0)
    throttled_until: datetime | None = Field(default=None, sa_type=NaiveUTC)
    last_failure_at: datetime = Field(sa_type=NaiveUTC)


class KnownDevice(SQLModel, table=True):
    """A browser in which a user has logged in: the SHA-256 of the random,
    long-lived HttpOnly device cookie it holds, per user.  A login attempt that
    presents it is throttled on its own (per login and device), apart from
    attempts of strangers (``lkk_app/auth/login.py``)."""

    __tablename__ = "lkk_device"
    __table_args__ = (sa.UniqueConstraint("token_hash", "user_id", name="uq_lkk_device_token_user"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, index=True)
    user_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("lkk_user.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    created_at: datetime = Field(sa_type=NaiveUTC)
    last_seen_at: datetime = Field(index=True, sa_type=NaiveUTC)


# The embedded demo billing keeps its own tables (lkk_app/billing/adapters/demo_tables.py);
# importing them here lets the migrations and ``metadata.create_all`` see them.
# Memberships, bound contracts, binding requests and curator codes (lkk_app/billing/binding_tables.py).
from lkk_app.billing import binding_tables as _binding_tables  # noqa: E402,F401

# Deliveries to billing through the job queue (lkk_app/billing/deliveries.py).
from lkk_app.billing import deliveries as _billing_deliveries  # noqa: E402,F401

# Documents' PDFs, requests for an акт сверки, letters about the contracts
# (lkk_app/billing/documents_tables.py).
from lkk_app.billing import documents_tables as _documents_tables  # noqa: E402, F401

# The cabinet's read copy of billing data (lkk_app/billing/store.py).
from lkk_app.billing import store as _billing_read_copy  # noqa: E402,F401
from lkk_app.billing.adapters import demo_tables as _demo_billing_tables  # noqa: E402,F401

# Readings given in the cabinet and organisation settings (lkk_app/billing/readings/tables.py).
from lkk_app.billing.readings import tables as _reading_tables  # noqa: E402,F401
