"""The cabinet's own tables of «Документы» and «Расчёты»: the documents' PDFs as
drawn (``lkk_document_file``), the requests for an акт сверки
(``lkk_reconciliation_request``), each person's choice of letters
(``lkk_notification_settings``) and what they were told
(``lkk_notification_sent``)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from lkk_app.models import NaiveUTC


class DocumentFile(SQLModel, table=True):
    """A document's PDF as the cabinet drew it, and of which version of the record."""

    __tablename__ = "lkk_document_file"

    document_key: str = Field(primary_key=True, max_length=40)
    record_sha256: str = Field(max_length=64)  # of the record it was drawn from
    content: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    size: int
    rendered_at: datetime = Field(sa_type=NaiveUTC)


# Statuses of a request for an акт сверки.
QUEUED, SENT, READY, FAILED = "queued", "sent", "ready", "failed"


class ReconciliationRequest(SQLModel, table=True):
    """«Запросить акт сверки»: who asked for which period, and what became of it."""

    __tablename__ = "lkk_reconciliation_request"
    __table_args__ = (sa.UniqueConstraint("contract_key", "period_from", "period_to", "requested_on",
                                          name="ux_lkk_reconciliation_request_day"),
                      sa.Index("ix_lkk_reconciliation_request_organisation_day", "organisation_key",
                               "requested_on"))

    id: int | None = Field(default=None, primary_key=True)
    organisation_key: str = Field(max_length=40)
    contract_key: str = Field(max_length=40, index=True)
    period_from: date
    period_to: date
    requested_on: date  # the day (supplier's time): the same request on one day is one request
    requested_at: datetime = Field(sa_type=NaiveUTC)
    user_id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("lkk_user.id", ondelete="SET NULL"), nullable=True),
    )
    user_login: str = Field(max_length=64)
    status: str = Field(default=QUEUED, max_length=16)
    document_key: str | None = Field(default=None, max_length=40)  # billing's answer
    notified_at: datetime | None = Field(default=None, sa_type=NaiveUTC)  # the letter «акт сверки готов»


class NotificationSettings(SQLModel, table=True):
    """Which letters a person wants (a missing row: all of them)."""

    __tablename__ = "lkk_notification_settings"

    user_id: int = Field(sa_column=sa.Column(sa.Integer, sa.ForeignKey("lkk_user.id", ondelete="CASCADE"),
                                             primary_key=True))
    new_document: bool = True
    window_opens: bool = True
    window_closing: bool = True
    debt: bool = True
    updated_at: datetime = Field(sa_type=NaiveUTC)  # what came before a choice is not told


class NotificationSent(SQLModel, table=True):
    """One event told to one person (``subject``: the document, the contract and
    month, …), or the day's marker of a kind (``day:YYYY-MM-DD``)."""

    __tablename__ = "lkk_notification_sent"
    __table_args__ = (sa.UniqueConstraint("user_id", "kind", "subject", name="ux_lkk_notification_sent"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=sa.Column(sa.Integer, sa.ForeignKey("lkk_user.id", ondelete="CASCADE"),
                                             nullable=False))
    kind: str = Field(max_length=20)
    subject: str = Field(max_length=100)
    sent_on: date
    created_at: datetime = Field(sa_type=NaiveUTC)
