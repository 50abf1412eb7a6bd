"""«Договоры» attacked over a raw websocket: a logged-in user of one
organisation names another organisation's contracts (open, unbind, page
through) and gets nothing of them; the victim's binding stays."""

from __future__ import annotations

from tests.attack.conftest import assert_alive

VICTIM_CONTRACT = "ctr-1001"


def _bind(account, contract_keys=(VICTIM_CONTRACT,), organisation="org-romashka"):
    """Bind the contracts to the account's organisation (copied from billing first); when
    an earlier test bound them already, the account joins that organisation as an
    administrator instead.  The contracts, as billing has them."""
    import asyncio
    import concurrent.futures

    from lkk_app.billing import binding, store
    from lkk_app.billing.background import gateway
    from lkk_app.billing.binding_tables import ADMINISTRATOR, Membership
    from lkk_app.billing.types import ChangeKind
    from lkk_app.core import clock
    from lkk_app.db import dialect_insert, session_scope, table_of

    async def fetch():
        gw = gateway()
        return await gw.get_organisation(organisation), await gw.list_contracts(organisation)

    # In a thread of its own: a browser test of this tier may leave an event loop running in this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        org, contracts = pool.submit(asyncio.run, fetch()).result()
    with session_scope() as db:
        store.store_records(db, ChangeKind.ORGANISATIONS, [org], clock.utcnow())
        store.store_records(db, ChangeKind.CONTRACTS, contracts, clock.utcnow())
    try:
        with session_scope() as db:
            binding.bind(db, user_id=account.id, organisation_key=organisation, contract_keys=list(contract_keys))
    except binding.BindingError:
        with session_scope() as db:
            db.execute(dialect_insert(db, table_of(Membership)).values(
                user_id=account.id, organisation_key=organisation, role=ADMINISTRATOR,
                created_at=clock.utcnow()).on_conflict_do_nothing())
    return [c for c in contracts if c.key in contract_keys]


def _bindings() -> list[tuple]:
    import sqlalchemy as sa

    from lkk_app.billing.binding_tables import ContractBinding, Membership
    from lkk_app.db import session_scope

    with session_scope() as db:
        rows = db.execute(sa.select(ContractBinding.contract_key, ContractBinding.organisation_key)).all()
        members = db.execute(sa.select(Membership.user_id, Membership.organisation_key, Membership.role)).all()
        return sorted(map(tuple, rows)) + sorted(map(tuple, members))


def test_another_organisations_contract_is_not_found(client, make_account, mint, app_server, db_env):
    victim = make_account("victim")
    [contract] = _bind(victim)
    attacker = make_account("mallory")
    _bind(attacker, ("ctr-3001",), "org-petrov")
    before = _bindings()
    from lkk_app.state.contracts import ContractsState

    state = ContractsState.get_full_name()
    c = client(cookie=attacker.cookie(mint(attacker)))
    c.hydrate("/contracts")
    for key in (VICTIM_CONTRACT, "ctr-1002", "ctr-2001", " ctr-1001", "CTR-1001", "", "x" * 500):
        c.call(f"{state}.open_card", {"key": key}, path="/contracts")
        c.call(f"{state}.ask_unbind", {}, path="/contracts")
        c.call(f"{state}.unbind", {}, path="/contracts")
    for offset in (-50, 0, 50, 10**9, "1"):
        c.call(f"{state}.show_page", {"offset": offset}, path="/contracts")
    text = c.text()
    for secret in (contract.curator.name, contract.curator.email, contract.department, "Д-1001", "Д-1002"):
        assert secret not in text, f"{secret!r} of another organisation was sent"
    assert "Д-3001" in text  # the attacker does see their own contract
    assert _bindings() == before
    assert c.connected
    assert_alive(app_server)
