"""The contract a cabinet tab shows: the organisation's bound contracts for the
switcher in the header, and the one chosen (kept while the tab moves between
«Точки учёта» and «Показания»; ``?contract=<key>`` chooses from a link).

The key chosen is only a preference: every handler checks it again as the
user (``binding.require_contract``)."""

from __future__ import annotations

import dataclasses

from sqlmodel import Session

from lkk_app.auth.sessions import CurrentUser
from lkk_app.billing import binding
from lkk_app.state.base import AuthState

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
    """The switcher's contracts and the contract chosen (shared by the tabs below it)."""

    choices: list[ContractChoice] = []
    contract_key: str = ""

    def _asked(self) -> str:
        """The contract the page's address names (``?contract=``), if any."""
        return str(self.router.url.query_parameters.get("contract", ""))[:40]

    def _choose(self, choices: list[ContractChoice], requested: object = None) -> str:
        """Keep ``choices`` and choose ``requested`` (the switcher, the address),
        else the contract chosen before, else the first."""
        self.choices = choices
        self.contract_key = chosen(choices, requested, self.contract_key)
        return self.contract_key
