"""Ownership, binding, unbinding and curator codes (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from lkk_app.billing import binding, store
from lkk_app.billing.binding_tables import ADMINISTRATOR, MEMBER, CuratorCode, Membership
from lkk_app.billing.types import (
    ChangeKind,
    Contract,
    ContractKind,
    ContractStatus,
    Curator,
    PaymentRegime,
    VoltageLevel,
)
from tests.factories import make_member

NOW = datetime(2026, 12, 4, 10, 0, 0)


def contract(key: str, org: str, number: str) -> Contract:
    from datetime import date
    from decimal import Decimal

    return Contract(key=key, organisation_key=org, number=number, signed_on=date(2024, 1, 1),
                    kind=ContractKind.SUPPLY, status=ContractStatus.ACTIVE, valid_from=date(2024, 1, 1),
                    valid_to=None, price_category=2, voltage=VoltageLevel.NN,
                    max_power_kw=Decimal("120"), payment_regime=PaymentRegime.INTERIM,
                    curator=Curator(name="Иванова И. И.", phone="+74950000000", email="c@example.org"),
                    department="Центральное отделение", points=2)


@pytest.fixture
def world(db):
    ann, bob, eve = (make_member(db, n, now=NOW).id for n in ("ann", "bob", "eve"))
    store.store_records(db, ChangeKind.CONTRACTS, [
        contract("ctr-1", "org-a", "Д-1"), contract("ctr-2", "org-a", "Д-2"), contract("ctr-9", "org-b", "Д-9"),
    ], NOW)
    db.flush()
    return {"ann": ann, "bob": bob, "eve": eve}


def test_the_first_to_bind_administers_the_organisation_later_ones_are_members(db, world):
    assert binding.bind(db, user_id=world["ann"], organisation_key="org-a", contract_keys=["ctr-1"],
                        now=NOW) == ["ctr-1"]
    assert binding.role_in(db, world["ann"], "org-a") == ADMINISTRATOR
    binding.bind(db, user_id=world["bob"], organisation_key="org-a", contract_keys=["ctr-2"], now=NOW)
    assert binding.role_in(db, world["bob"], "org-a") == MEMBER
    assert binding.administrators(db, "org-a") == [world["ann"]]


def test_a_contract_bound_already_is_not_bound_again(db, world):
    binding.bind(db, user_id=world["ann"], organisation_key="org-a", contract_keys=["ctr-1"], now=NOW)
    with pytest.raises(binding.BindingError) as caught:
        binding.bind(db, user_id=world["ann"], organisation_key="org-a", contract_keys=["ctr-1"], now=NOW)
    assert caught.value.code == "binding.already_connected"
    assert binding.bind(db, user_id=world["ann"], organisation_key="org-a",
                        contract_keys=["ctr-1", "ctr-2", "ctr-2"], now=NOW) == ["ctr-2"]


def test_require_contract_lets_members_in_and_treats_everyone_else_as_not_found(db, world):
    binding.bind(db, user_id=world["ann"], organisation_key="org-a", contract_keys=["ctr-1"], now=NOW)
    binding.bind(db, user_id=world["eve"], organisation_key="org-b", contract_keys=["ctr-9"], now=NOW)
    assert binding.require_contract(db, world["ann"], "ctr-1").organisation_key == "org-a"
    for user, key in [("eve", "ctr-1"), ("ann", "ctr-9"), ("ann", "ctr-2"), ("ann", "nope"),
                      ("bob", "ctr-1"), ("ann", None), ("ann", 5), ("ann", ["ctr-1"]), ("ann", "x" * 41)]:
        with pytest.raises(binding.BindingError) as caught:
            binding.require_contract(db, world[user], key)
        assert caught.value.code == "contract.not_found", (user, key)


def test_the_list_shows_only_the_users_organisations_contracts_with_the_copys_date(db, world):
    binding.bind(db, user_id=world["ann"], organisation_key="org-a", contract_keys=["ctr-2", "ctr-1"], now=NOW)
    binding.bind(db, user_id=world["eve"], organisation_key="org-b", contract_keys=["ctr-9"], now=NOW)
    page = binding.bound_contracts(db, world["ann"])
    assert [c.number for c in page.contracts] == ["Д-1", "Д-2"] and page.total == 2
    assert [c.number for c in binding.bound_contracts(db, world["ann"], offset=1, limit=1).contracts] == ["Д-2"]
    assert binding.bound_contracts(db, world["bob"]).total == 0


def test_only_an_administrator_unbinds(db, world):
    binding.bind(db, user_id=world["ann"], organisation_key="org-a", contract_keys=["ctr-1", "ctr-2"], now=NOW)
    db.add(Membership(user_id=world["bob"], organisation_key="org-a", role=MEMBER, created_at=NOW))
    db.flush()
    with pytest.raises(binding.BindingError) as caught:
        binding.unbind(db, user_id=world["bob"], contract_key="ctr-1")
    assert caught.value.code == "binding.not_administrator"
    with pytest.raises(binding.BindingError) as caught:
        binding.unbind(db, user_id=world["eve"], contract_key="ctr-1")
    assert caught.value.code == "contract.not_found"
    binding.unbind(db, user_id=world["ann"], contract_key="ctr-1")
    assert [c.number for c in binding.bound_contracts(db, world["bob"]).contracts] == ["Д-2"]


def test_a_curator_code_is_stored_hashed_spent_once_and_only_for_its_contract(db, world, settings):
    code = binding.issue_curator_code(db, "ctr-1", settings, now=NOW)
    assert len(code) == 14 and code.count("-") == 2 and binding.looks_like_curator_code(code)
    stored = db.exec(select(CuratorCode)).one()
    assert code.replace("-", "") not in stored.code_hash and stored.expires_at == NOW + timedelta(days=30)
    assert not binding.spend_curator_code(db, "ctr-2", code, world["ann"], settings, now=NOW)
    assert binding.spend_curator_code(db, "ctr-1", code.lower().replace("-", " "), world["ann"], settings,
                                      now=NOW)
    assert not binding.spend_curator_code(db, "ctr-1", code, world["bob"], settings, now=NOW)


def test_a_curator_code_expires_after_30_days(db, world, settings):
    code = binding.issue_curator_code(db, "ctr-1", settings, now=NOW)
    late = NOW + timedelta(days=30, seconds=1)
    assert not binding.spend_curator_code(db, "ctr-1", code, world["ann"], settings, now=late)
    assert binding.spend_curator_code(db, "ctr-1", code, world["ann"], settings,
                                      now=NOW + timedelta(days=29))


@pytest.mark.parametrize("bad", ["", "ABCD", "ABCD-EFGH-IJK1", "0000-0000-0000", "ЖЖЖЖ-ЖЖЖЖ-ЖЖЖЖ", None])
def test_malformed_curator_codes_are_refused_without_a_lookup(db, world, settings, bad):
    assert not binding.spend_curator_code(db, "ctr-1", bad or "", world["ann"], settings, now=NOW)
