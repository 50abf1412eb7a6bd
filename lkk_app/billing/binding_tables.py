"""The cabinet's own tables of contract binding: who belongs to which
organisation, which contracts are bound, pending binding requests and the
curators' one-time binding codes.  Billing knows nothing of them; it is told
of a binding through the job queue.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from lkk_app.models import NaiveUTC, OneTimeColumns

ADMINISTRATOR = "administrator"
MEMBER = "member"
ROLES = (ADMINISTRATOR, MEMBER)


def _user_fk(*, nullable: bool = False) -> sa.Column:
    return sa.Column(sa.Integer, sa.ForeignKey("lkk_user.id", ondelete="CASCADE"),
                     nullable=nullable, index=True)


class Membership(SQLModel, table=True):
    """A user's place in an organisation (billing's organisation key)."""

    __tablename__ = "lkk_membership"
    __table_args__ = (sa.UniqueConstraint("user_id", "organisation_key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=_user_fk())
    organisation_key: str = Field(max_length=40, index=True)
    role: str = Field(max_length=16)  # administrator | member
    created_at: datetime = Field(sa_type=NaiveUTC)


class ContractBinding(SQLModel, table=True):
    """A contract bound to the cabinet: it belongs to one organisation here."""

    __tablename__ = "lkk_contract_binding"

    contract_key: str = Field(primary_key=True, max_length=40)
    organisation_key: str = Field(max_length=40, index=True)
    bound_by: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("lkk_user.id", ondelete="SET NULL"), nullable=True),
    )
    bound_at: datetime = Field(sa_type=NaiveUTC)


class BindingRequest(SQLModel, table=True):
    """One «Привязать договор» lookup: found or not, and the code sent for it."""

    __tablename__ = "lkk_binding_request"
    __table_args__ = (sa.Index("ix_lkk_binding_request_contract_created", "contract_key", "created_at"),
                      sa.Index("ix_lkk_binding_request_user_created", "user_id", "created_at"))

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=sa.Column(sa.Integer, sa.ForeignKey("lkk_user.id", ondelete="CASCADE"),
                                             nullable=False))
    contract_key: str | None = Field(default=None, max_length=40)  # None: nothing matched
    organisation_key: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)  # the e-mail of record the code went to
    code_hash: str | None = Field(default=None, max_length=64)
    status: str = Field(max_length=16)  # not_found | pending | done | ended | bound_elsewhere
    wrong_attempts: int = 0
    created_at: datetime = Field(sa_type=NaiveUTC)
    sent_at: datetime | None = Field(default=None, sa_type=NaiveUTC)
    expires_at: datetime | None = Field(default=None, sa_type=NaiveUTC)


class CuratorCode(OneTimeColumns, table=True):
    """A one-time «код привязки» a curator issued for one contract (stored hashed)."""

    __tablename__ = "lkk_curator_code"

    id: int | None = Field(default=None, primary_key=True)
    contract_key: str = Field(max_length=40, index=True)
    code_hash: str = Field(max_length=64, unique=True)
    used_by: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("lkk_user.id", ondelete="SET NULL"), nullable=True),
    )
