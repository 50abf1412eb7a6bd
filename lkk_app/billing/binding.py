"""Contract binding: which organisation's contracts a user may see, and how a
contract gets bound (a code sent to billing's e-mail of record, or a curator's
one-time binding code) or unbound.

Every read or write of billing data for a user starts with
:func:`require_contract` (or :func:`memberships` for lists): the one
ownership check.  A contract that is not the user's is reported exactly like
one that does not exist (``contract.not_found``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from lkk_app.billing import store
from lkk_app.billing.binding_rules import CURATOR_CODE_LIFETIME
from lkk_app.billing.binding_tables import (
    ADMINISTRATOR,
    MEMBER,
    ContractBinding,
    CuratorCode,
    Membership,
)
from lkk_app.billing.types import ChangeKind, Contract
from lkk_app.core import clock
from lkk_app.core.errors import Code, DomainError
from lkk_app.db import dialect_insert, rowcount, table_of
from lkk_app.settings import Settings

CURATOR_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CURATOR_CODE_LENGTH = 12


class BindingError(DomainError):
    """A binding step refused, with a catalogue ``code`` and its ``params``."""

    def __init__(self, code: str, params: dict[str, object] | None = None):
        self.code = code
        self.params = dict(params or {})
        super().__init__(code)

    @property
    def reason(self) -> Code:
        """The code to show (``lkk_app.i18n.message``)."""
        return Code(self.code, self.params)


@dataclasses.dataclass(frozen=True, slots=True)
class ContractPage:
    contracts: tuple[Contract, ...]
    total: int
    as_of: datetime | None  # «Данные на …»: the copy's date
    billing_down: bool = False  # the latest sync could not reach billing: the copy is older


# --------------------------------------------------------------------------- ownership


def memberships(db: Session, user_id: int) -> list[Membership]:
    return list(db.exec(select(Membership).where(Membership.user_id == user_id)
                        .order_by(col(Membership.id))).all())


def role_in(db: Session, user_id: int, organisation_key: str) -> str | None:
    row = db.exec(select(Membership).where(Membership.user_id == user_id,
                                           Membership.organisation_key == organisation_key)).first()
    return None if row is None else row.role


def require_contract(db: Session, user_id: int, contract_key: object) -> ContractBinding:
    """The binding of ``contract_key`` when it is bound to one of the user's
    organisations; otherwise :class:`BindingError` ``contract.not_found``
    (also for a key that is not a string, or that no one has bound)."""
    if not isinstance(contract_key, str) or not 0 < len(contract_key) <= 40:
        raise BindingError("contract.not_found")
    row = db.exec(
        select(ContractBinding).join(
            Membership, col(Membership.organisation_key) == col(ContractBinding.organisation_key)
        ).where(ContractBinding.contract_key == contract_key, Membership.user_id == user_id)
    ).first()
    if row is None:
        raise BindingError("contract.not_found")
    return row


def require_bound_contract(db: Session, user_id: int, contract_key: object) -> tuple[ContractBinding, Contract]:
    """:func:`require_contract`, with the contract's record from the read copy
    (``contract.not_found`` when the copy does not have it yet)."""
    bound = require_contract(db, user_id, contract_key)
    contract = store.contract(db, bound.contract_key)
    if contract is None:
        raise BindingError("contract.not_found")
    return bound, contract


def require_administrator(db: Session, user_id: int, contract_key: object) -> ContractBinding:
    """:func:`require_contract`, and the user administers its organisation
    (``binding.not_administrator`` otherwise)."""
    binding = require_contract(db, user_id, contract_key)
    if role_in(db, user_id, binding.organisation_key) != ADMINISTRATOR:
        raise BindingError("binding.not_administrator")
    return binding


# Rights of an organisation's members.  The administrator has all of them;
# rights per member come with the organisation's users.
RIGHT_READINGS = "readings"  # give meter readings
# The code a user without the right is refused with.
RIGHTS = {RIGHT_READINGS: "rights.readings"}


def has_right(db: Session, user_id: int, organisation_key: str, right: str) -> bool:
    return right in RIGHTS and role_in(db, user_id, organisation_key) == ADMINISTRATOR


def require_right(db: Session, user_id: int, contract_key: object, right: str) -> ContractBinding:
    """:func:`require_contract`, and the user has ``right`` in its organisation
    (its code in :data:`RIGHTS` otherwise)."""
    bound = require_contract(db, user_id, contract_key)
    if not has_right(db, user_id, bound.organisation_key, right):
        raise BindingError(RIGHTS[right])
    return bound


def bound_contracts(db: Session, user_id: int, *, offset: int = 0, limit: int = 50) -> ContractPage:
    """The user's organisations' bound contracts (from the read copy), by number, one page."""
    keys = (select(ContractBinding.contract_key)
            .join(Membership, col(Membership.organisation_key) == col(ContractBinding.organisation_key))
            .where(Membership.user_id == user_id))
    total = db.exec(select(sa.func.count()).select_from(keys.subquery())).one()
    offset, limit = max(0, int(offset)), max(1, min(int(limit), 200))
    page, oldest = store.records_page(db, ChangeKind.CONTRACTS, keys, offset=offset, limit=limit)
    # «Данные на»: the last complete sync, or — before the first — when the rows came.
    as_of = store.data_as_of(db) or oldest
    return ContractPage(tuple(page), int(total), as_of, store.last_error(db) is not None)


def administrators(db: Session, organisation_key: str) -> list[int]:
    return list(db.exec(select(Membership.user_id).where(
        Membership.organisation_key == organisation_key, Membership.role == ADMINISTRATOR)).all())


# --------------------------------------------------------------------------- binding and unbinding


def bind(db: Session, *, user_id: int, organisation_key: str, contract_keys: Sequence[str],
         now: datetime | None = None) -> list[str]:
    """Bind ``contract_keys`` (already proven to be the organisation's) and
    make the user a member: the administrator when the organisation has none.
    The keys bound by this call; a contract bound meanwhile by someone else is
    left out (``binding.already_connected`` when that leaves nothing)."""
    now = now or clock.utcnow()
    _join(db, user_id, organisation_key, now)
    bound: list[str] = []
    for key in dict.fromkeys(contract_keys):
        inserted = _insert_ignore(db, table_of(ContractBinding), {
            "contract_key": key, "organisation_key": organisation_key, "bound_by": user_id,
            "bound_at": now})
        if inserted:
            bound.append(key)
    if not bound:
        raise BindingError("binding.already_connected")
    return bound


def _join(db: Session, user_id: int, organisation_key: str, now: datetime) -> str:
    role = role_in(db, user_id, organisation_key)
    if role is not None:
        return role
    role = MEMBER if administrators(db, organisation_key) else ADMINISTRATOR
    _insert_ignore(db, table_of(Membership), {
        "user_id": user_id, "organisation_key": organisation_key, "role": role, "created_at": now})
    return role_in(db, user_id, organisation_key) or role


def _insert_ignore(db: Session, table: sa.Table, values: dict[str, object]) -> bool:
    result = db.execute(dialect_insert(db, table).values(**values).on_conflict_do_nothing())
    return bool(rowcount(result))


def unbind(db: Session, *, user_id: int, contract_key: object) -> ContractBinding:
    """Unbind a contract of the user's organisation (administrators only)."""
    binding = require_administrator(db, user_id, contract_key)
    db.delete(binding)
    db.flush()
    return binding


# --------------------------------------------------------------------------- curator codes


def _code_hash(code: str, settings: Settings) -> str:
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    return hmac.new(settings.secret_key, f"curator-code\0{cleaned}".encode(),
                    hashlib.sha256).hexdigest()


def issue_curator_code(db: Session, contract_key: str, settings: Settings,
                       now: datetime | None = None) -> str:
    """A new one-time «код привязки» for the contract (``XXXX-XXXX-XXXX``), valid
    30 days; only its keyed hash is stored."""
    now = now or clock.utcnow()
    raw = "".join(secrets.choice(CURATOR_CODE_ALPHABET) for _ in range(CURATOR_CODE_LENGTH))
    code = "-".join(raw[i:i + 4] for i in range(0, CURATOR_CODE_LENGTH, 4))
    db.add(CuratorCode(contract_key=contract_key, code_hash=_code_hash(code, settings), created_at=now,
                       expires_at=now + CURATOR_CODE_LIFETIME))
    db.flush()
    return code


def looks_like_curator_code(value: str) -> bool:
    cleaned = "".join(ch for ch in (value or "").upper() if ch.isalnum())
    return len(cleaned) == CURATOR_CODE_LENGTH and all(ch in CURATOR_CODE_ALPHABET for ch in cleaned)


def spend_curator_code(db: Session, contract_key: str, code: str, user_id: int, settings: Settings,
                       now: datetime | None = None) -> bool:
    """True when ``code`` is a live curator code of this contract; it is spent then
    (a conditional update: two racing uses cannot both succeed)."""
    if not looks_like_curator_code(code):
        return False
    now = now or clock.utcnow()
    result = db.execute(
        sa.update(CuratorCode)
        .where(col(CuratorCode.contract_key) == contract_key,
               col(CuratorCode.code_hash) == _code_hash(code, settings),
               col(CuratorCode.used_at).is_(None), col(CuratorCode.expires_at) > now)
        .values(used_at=now, used_by=user_id)
    )
    return bool(rowcount(result))
