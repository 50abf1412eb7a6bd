"""The one seam between the cabinet and a billing system.

Adapters: :mod:`lkk_app.billing.adapters.demo` (embedded) and
:mod:`lkk_app.billing.adapters.http` (a real system over docs/billing-api.yaml).
Both pass the same contract tests (tests/billing/test_gateway_contract.py).

Errors: :class:`BillingUnavailable` means "try again later" (billing down, slow,
overloaded or refusing our credentials); :class:`BillingRejected` means billing
understood the request and said no, with a ``code`` and ``params``.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol, runtime_checkable

from lkk_app.billing.types import (
    Ack,
    ChangeKind,
    Changes,
    Contract,
    ContractMatch,
    Health,
    Organisation,
    ReadingsAck,
    ReadingsSubmission,
)

MAX_CHANGES_LIMIT = 1000


class BillingError(Exception):
    """Base class of the gateway's errors."""


class BillingUnavailable(BillingError):
    """Billing cannot answer now; ``reason`` is a short ascii word (connect, timeout, …)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class BillingRejected(BillingError):
    """Billing refused the request: ``code`` (e.g. ``contract.not_found``) and ``params``."""

    def __init__(self, code: str, params: dict[str, str | int] | None = None):
        self.code = code
        self.params: dict[str, str | int] = dict(params or {})
        super().__init__(code, self.params)


@runtime_checkable
class BillingGateway(Protocol):
    async def find_contract(self, inn: str, kpp: str | None, number: str) -> ContractMatch | None:
        """The contract with this number of the organisation with this ИНН and КПП
        (``None`` for an ИП); ``None`` when any part does not match."""
        ...

    async def get_organisation(self, key: str) -> Organisation | None: ...

    async def list_contracts(self, organisation_key: str) -> tuple[Contract, ...]:
        """The organisation's contracts ordered by number (empty for an unknown key)."""
        ...

    async def get_contract(self, key: str) -> Contract | None: ...

    async def changes(self, kind: ChangeKind, cursor: str | None, limit: int = 100) -> Changes:
        """Rows of ``kind`` changed after ``cursor`` (``None``: from the beginning),
        oldest change first, at most ``limit`` (1..1000)."""
        ...

    async def notify_binding(self, contract_key: str, bound: bool, idempotency_key: str) -> Ack:
        """Tell billing the contract was bound to (or unbound from) the cabinet."""
        ...

    async def submit_readings(self, submission: ReadingsSubmission, idempotency_key: str) -> ReadingsAck:
        """Readings given in the cabinet; billing accepts or rejects each entry (with a
        code) at once, and answers the same key with the same :class:`ReadingsAck`."""
        ...

    async def request_reconciliation(self, contract_key: str, period_from: date, period_to: date,
                                     idempotency_key: str) -> Ack:
        """Ask for an «Акт сверки взаиморасчётов» of the contract over the period; the act
        comes with the documents, «готовится» first, then issued."""
        ...

    async def health(self) -> Health: ...

    async def aclose(self) -> None: ...
