"""The contract a cabinet tab shows: the organisation's bound contracts for the
switcher in the header, and the one chosen (kept while the tab moves between
«Точки учёта» and «Показания»; ``?contract=<key>`` chooses from a link).

The key chosen is only a preference: every handler checks it again as the
user (``binding.require_contract``)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlmodel import Session

from lkk_app.auth.sessions import CurrentUser
from lkk_app.billing import background, binding
from lkk_app.billing.binding import BindingError
from lkk_app.core.formatting import local_datetime
from lkk_app.i18n import message
from lkk_app.state.base import AuthState, SignedOut

CHOICES_MAX = 500


@dataclasses.dataclass
class ContractChoice:
    key: str = ""
    number: str = ""


def contract_choices(db: Session, me: CurrentUser) -> list[ContractChoice]:
    """The user's organisations' bound contracts, by number."""
    page = binding.bound_contracts(db, me.id, limit=CHOICES_MAX)
    return [ContractChoice(c.key, c.number) for c in page.contracts]


def chosen(choices: list[ContractChoice], *wishes: object) -> str:
    """The first of ``wishes`` that is one of ``choices``, else the first choice."""
    keys = [c.key for c in choices]
    return next((w for w in wishes if isinstance(w, str) and w in keys), keys[0] if keys else "")


class CabinetState(AuthState):
    """The switcher's contracts and the contract chosen (shared by the tabs below
    it), how fresh the tab's copy of billing data is, and the tab's refusal."""

    choices: list[ContractChoice] = []
    contract_key: str = ""
    as_of: str = ""
    billing_down: bool = False
    notice: str = ""

    async def _reload(self, requested: str = "") -> None:
        """Load the tab for the contract ``requested`` (or the one chosen before)."""
        raise NotImplementedError

    async def _run(self, requested: str = ""):
        """:meth:`_reload` as the tab's user: gone → the login window; a refusal → :attr:`notice`."""
        try:
            await self._reload(requested)
        except SignedOut as gone:
            return self._signed_out(gone)
        except BindingError as refused:
            self.notice = message(refused.reason)
        return None

    def _fresh(self, as_of: datetime | None, billing_down: bool, stale: bool) -> None:
        """«Данные на …», billing's state, and a sync asked for when the copy is old."""
        self.as_of = local_datetime(as_of) if as_of else ""
        self.billing_down = billing_down
        if stale:
            background.request_sync()

    def _asked(self) -> str:
        """The contract the page's address names (``?contract=``), if any."""
        return str(self.router.url.query_parameters.get("contract", ""))[:40]

    def _choose(self, choices: list[ContractChoice], requested: object = None) -> str:
        """Keep ``choices`` and choose ``requested`` (the switcher, the address),
        else the contract chosen before, else the first."""
        self.choices = choices
        self.contract_key = chosen(choices, requested, self.contract_key)
        return self.contract_key
