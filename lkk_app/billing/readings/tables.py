"""The cabinet's own record of readings given in it: one submission (who,
when, which contract and month, how — the form or a file) with a value per
register (the value, what it was compared with, the consumption shown, the
warnings the customer confirmed and the comment), and what billing answered.

A register has at most one *live* value per billing month — submitted and not
yet answered, or accepted — a unique index over live values says so, whatever
two tabs or two people do at once.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from lkk_app.models import DecimalText, NaiveUTC

# Statuses of a submission and of its values.
SUBMITTED = "submitted"  # «Передано»: waiting for billing's answer
ACCEPTED = "accepted"  # «Принято»
REJECTED = "rejected"  # «Отклонено: причина»
PARTLY = "partly"  # a submission some of whose values were rejected
REPLACED = "replaced"  # «Заменено» by a newer submission before billing answered
LIVE = (SUBMITTED, ACCEPTED)


class ReadingSubmission(SQLModel, table=True):
    __tablename__ = "lkk_reading_submission"
    __table_args__ = (sa.Index("ix_lkk_reading_submission_contract_period", "contract_key", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=64, unique=True)  # from the form: a double click is one submission
    organisation_key: str = Field(max_length=40)
    contract_key: str = Field(max_length=40)
    period: date  # the billing month (its 1st day)
    as_of: date  # the readings are as of this day
    source: str = Field(max_length=16)  # customer_form | customer_file
    user_id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("lkk_user.id", ondelete="SET NULL"), nullable=True),
    )
    user_login: str = Field(max_length=64)  # kept when the account is gone
    created_at: datetime = Field(sa_type=NaiveUTC)
    status: str = Field(max_length=16)
    replaces_id: int | None = Field(default=None)
    reference: str = Field(default="", max_length=100)  # billing's number of the submission
    answered_at: datetime | None = Field(default=None, sa_type=NaiveUTC)


class ReadingValue(SQLModel, table=True):
    __tablename__ = "lkk_reading_value"
    __table_args__ = (
        sa.Index("ux_lkk_reading_value_live", "register_key", "period", unique=True,
                 sqlite_where=sa.text("status IN ('submitted', 'accepted')"),
                 postgresql_where=sa.text("status IN ('submitted', 'accepted')")),
        sa.Index("ix_lkk_reading_value_meter", "meter_key", "as_of"),
    )

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(sa_column=sa.Column(
        sa.Integer, sa.ForeignKey("lkk_reading_submission.id", ondelete="CASCADE"), nullable=False, index=True))
    register_key: str = Field(max_length=40)
    meter_key: str = Field(max_length=40)
    point_key: str = Field(max_length=40)
    period: date
    as_of: date
    value: Decimal = Field(sa_column=sa.Column(DecimalText(), nullable=False))
    previous: Decimal | None = Field(default=None, sa_column=sa.Column(DecimalText(), nullable=True))
    previous_on: date | None = None
    consumption: Decimal | None = Field(default=None, sa_column=sa.Column(DecimalText(), nullable=True))
    confirmed: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    comment: str = Field(default="", max_length=500)
    status: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=64)  # the code of a rejection
    billing_consumption: Decimal | None = Field(default=None, sa_column=sa.Column(DecimalText(), nullable=True))


class OrganisationSettings(SQLModel, table=True):
    """What an organisation's administrator set in the cabinet."""

    __tablename__ = "lkk_organisation_settings"

    organisation_key: str = Field(primary_key=True, max_length=40)
    notification_email: str | None = Field(default=None, max_length=254)  # receipts go there too
    updated_by: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("lkk_user.id", ondelete="SET NULL"), nullable=True),
    )
    updated_at: datetime = Field(sa_type=NaiveUTC)
