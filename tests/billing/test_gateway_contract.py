"""One contract for every billing adapter: the same assertions on the demo
billing in-process and on the HTTP adapter talking to the reference server."""

from __future__ import annotations

import secrets
from decimal import Decimal

import httpx
import pytest
import sqlalchemy as sa
from stdnum.ru import inn as inn_number

from lkk_app import i18n
from lkk_app.billing.adapters.demo import update_contract
from lkk_app.billing.adapters.demo_tables import DemoNotice
from lkk_app.billing.gateway import BillingGateway, BillingRejected, BillingUnavailable
from lkk_app.billing.types import (
    ChangeKind,
    ContractKind,
    ContractStatus,
    Meter,
    MeteringPoint,
    PaymentRegime,
    VoltageLevel,
)
from tests.billing.conftest import SUPPLIER, TOKEN, Billing, ReferenceServer

pytestmark = pytest.mark.asyncio


def new_key() -> str:
    return secrets.token_urlsafe(16)


async def pull_all(gateway: BillingGateway, kind: ChangeKind, cursor: str | None = None,
                   limit: int = 2) -> tuple[list, str]:
    rows: list = []
    for _ in range(100):  # bounded: the demo data has a few dozen records
        page = await gateway.changes(kind, cursor, limit)
        assert len(page.rows) <= limit
        rows.extend(page.rows)
        cursor = page.cursor
        if not page.has_more:
            return rows, cursor
    raise AssertionError("changes never ended")


# --------------------------------------------------------------------------- lookup


async def test_find_contract_gives_contract_organisation_and_email_of_record(billing: Billing):
    match = await billing.gateway.find_contract("7701000001", "770101001", "Д-1001")
    assert match is not None
    assert match.email == "energo@romashka-demo.example"
    org, contract = match.organisation, match.contract
    assert (org.inn, org.kpp, org.short_name) == ("7701000001", "770101001", "ООО «Ромашка-Демо»")
    assert contract.number == "Д-1001" and contract.organisation_key == org.key
    assert (contract.kind, contract.status) == (ContractKind.SUPPLY, ContractStatus.ACTIVE)
    assert (contract.price_category, contract.voltage) == (2, VoltageLevel.NN)
    assert contract.max_power_kw == Decimal("120") and contract.points == 2
    assert contract.curator.email.endswith("@demo-energosbyt.example") and contract.department


@pytest.mark.parametrize("number", ["д-1001", " Д – 1001 ", "Д—1001"])
async def test_contract_number_ignores_case_spaces_and_dash_kind(billing: Billing, number):
    match = await billing.gateway.find_contract("7701000001", "770101001", number)
    assert match is not None and match.contract.number == "Д-1001"


@pytest.mark.parametrize("kpp", [None, ""])
async def test_an_entrepreneur_is_found_without_kpp(billing: Billing, kpp):
    match = await billing.gateway.find_contract("771200000003", kpp, "Д-3001")
    assert match is not None
    assert match.organisation.kpp is None and match.organisation.is_entrepreneur
    assert match.email == "petrov@ip-demo.example"


@pytest.mark.parametrize(
    "inn,kpp,number",
    [
        ("7701000002", "770101001", "Д-1001"),  # wrong ИНН
        ("5003000008", "770101001", "Д-1001"),  # another organisation's ИНН
        ("7701000001", "770101002", "Д-1001"),  # wrong КПП
        ("7701000001", None, "Д-1001"),  # КПП missing for a company
        ("7701000001", "770101001", "Д-1003"),  # no such contract
        ("7701000001", "770101001", "Д-2001"),  # another organisation's contract
        ("771200000003", "771201001", "Д-3001"),  # a КПП for an ИП
        ("abc", "770101001", "Д-1001"),
        ("", "", ""),
    ],
)
async def test_every_mismatch_gives_the_same_none(billing: Billing, inn, kpp, number):
    assert await billing.gateway.find_contract(inn, kpp, number) is None


# --------------------------------------------------------------------------- reads


async def test_get_and_list(billing: Billing):
    gw = billing.gateway
    match = await gw.find_contract("7701000001", "770101001", "Д-1002")
    assert match is not None
    org_key = match.organisation.key
    assert await gw.get_organisation(org_key) == match.organisation
    contracts = await gw.list_contracts(org_key)
    assert [c.number for c in contracts] == ["Д-1001", "Д-1002"]
    assert contracts[1] == match.contract
    assert [await gw.get_contract(c.key) for c in contracts] == list(contracts)
    assert await gw.get_organisation("org-none") is None
    assert await gw.get_contract("ctr-none") is None
    assert await gw.list_contracts("org-none") == ()


async def test_the_demo_data_is_what_the_readme_says(billing: Billing):
    gw = billing.gateway
    orgs, _ = await pull_all(gw, ChangeKind.ORGANISATIONS)
    assert {(o.short_name, o.inn, o.kpp, o.emails) for o in orgs} == {
        ("ООО «Ромашка-Демо»", "7701000001", "770101001", ("energo@romashka-demo.example",)),
        ("АО «Заря-Демо»", "5003000008", "500301001", ("buh@zarya-demo.example",)),
        ("ИП Петров П. П.", "771200000003", None, ("petrov@ip-demo.example",)),
    }
    assert all(inn_number.is_valid(o.inn) for o in orgs)
    contracts = {c.number: c for c in (await pull_all(gw, ChangeKind.CONTRACTS))[0]}
    assert sorted(contracts) == ["Д-1001", "Д-1002", "Д-2001", "Д-3001"]
    facts = {n: (c.price_category, c.voltage, c.max_power_kw, c.points) for n, c in contracts.items()}
    assert facts == {
        "Д-1001": (2, VoltageLevel.NN, Decimal("120"), 2),
        "Д-1002": (4, VoltageLevel.SN2, Decimal("800"), 2),
        "Д-2001": (1, VoltageLevel.NN, Decimal("40"), 1),
        "Д-3001": (1, VoltageLevel.NN, Decimal("15"), 1),
    }
    assert all(c.status is ContractStatus.ACTIVE and c.signed_on < c.valid_from for c in contracts.values())
    assert contracts["Д-3001"].payment_regime is PaymentRegime.NEXT_MONTH
    points: dict[str, MeteringPoint] = {p.name: p for p in (await pull_all(gw, ChangeKind.POINTS))[0]}
    assert sorted(points) == ["Контора", "Котельная", "Магазин", "Офис", "Склад", "Цех"]
    assert points["Котельная"].remote and not points["Цех"].remote
    assert points["Цех"].hourly and points["Цех"].code is not None and len(points["Цех"].code) == 15
    assert (points["Склад"].losses_percent, points["Склад"].losses_kwh_month) == (Decimal("2"), Decimal("150"))
    meters: dict[str, Meter] = {m.key: m for m in (await pull_all(gw, ChangeKind.METERS))[0]}
    installations = (await pull_all(gw, ChangeKind.INSTALLATIONS))[0]
    at: dict[str, list] = {}
    for item in installations:
        at.setdefault(item.point_key, []).append(item)
    store = at[points["Склад"].key]
    assert len(store) == 1
    store_meter = meters[store[0].meter_key]
    assert (store_meter.digits, store_meter.decimals, store_meter.coefficient) == (6, 2, Decimal(40))
    assert {t.ratio_text for t in store_meter.transformers} == {"200/5"}
    assert [i18n.label(r.zone) for r in store_meter.registers] == ["день", "ночь"]
    office = sorted(at[points["Офис"].key], key=lambda i: i.installed_on)
    assert len(office) == 2 and office[0].removed_on == office[1].installed_on
    assert len(office[0].final) == 2 and len(office[1].initial) == 2


# --------------------------------------------------------------------------- changes


@pytest.mark.parametrize("kind,count", [(ChangeKind.ORGANISATIONS, 3), (ChangeKind.CONTRACTS, 4),
                                        (ChangeKind.POINTS, 6), (ChangeKind.METERS, 7),
                                        (ChangeKind.INSTALLATIONS, 7)])
async def test_changes_page_through_every_record_once(billing: Billing, kind, count):
    rows, cursor = await pull_all(billing.gateway, kind)
    assert len(rows) == count == len({r.key for r in rows})
    again = await billing.gateway.changes(kind, cursor, 100)
    assert (again.rows, again.cursor, again.has_more) == ((), cursor, False)


async def test_changes_after_a_change_in_billing_return_just_it(billing: Billing):
    gw = billing.gateway
    _, cursor = await pull_all(gw, ChangeKind.CONTRACTS, limit=100)
    billing.write(lambda s: update_contract(s, "ctr-1002", status=ContractStatus.SUSPENDED))
    page = await gw.changes(ChangeKind.CONTRACTS, cursor, 100)
    assert [(c.number, c.status) for c in page.rows] == [("Д-1002", ContractStatus.SUSPENDED)]
    assert page.cursor != cursor and not page.has_more
    assert (await gw.changes(ChangeKind.CONTRACTS, page.cursor, 100)).rows == ()
    # Other kinds saw nothing.
    _, org_cursor = await pull_all(gw, ChangeKind.ORGANISATIONS, limit=100)
    assert (await gw.changes(ChangeKind.ORGANISATIONS, org_cursor, 100)).rows == ()


async def test_a_record_changed_twice_comes_once_in_its_latest_state(billing: Billing):
    gw = billing.gateway
    _, cursor = await pull_all(gw, ChangeKind.CONTRACTS, limit=100)
    billing.write(lambda s: update_contract(s, "ctr-2001", max_power_kw=Decimal("45")))
    billing.write(lambda s: update_contract(s, "ctr-1001", status=ContractStatus.SUSPENDED))
    billing.write(lambda s: update_contract(s, "ctr-2001", max_power_kw=Decimal("50")))
    rows, _ = await pull_all(gw, ChangeKind.CONTRACTS, cursor, limit=1)
    assert [(c.number, c.max_power_kw) for c in rows] == [("Д-1001", Decimal("120")),
                                                          ("Д-2001", Decimal("50"))]


@pytest.mark.parametrize("kind,cursor,limit,code", [
    ("hourly_values", None, 10, "changes.unknown_kind"),
    (ChangeKind.CONTRACTS, "abc", 10, "changes.bad_cursor"),
    (ChangeKind.CONTRACTS, None, 0, "changes.bad_limit"),
    (ChangeKind.CONTRACTS, None, 1001, "changes.bad_limit"),
])
async def test_bad_change_requests_are_rejected_with_a_code(billing: Billing, kind, cursor, limit, code):
    with pytest.raises(BillingRejected) as caught:
        await billing.gateway.changes(kind, cursor, limit)
    assert caught.value.code == code


# --------------------------------------------------------------------------- binding notices


def _notices(billing: Billing) -> list[tuple[str, str, bool]]:
    return billing.write(lambda s: [tuple(r) for r in s.execute(
        sa.select(DemoNotice.idempotency_key, DemoNotice.contract_key, DemoNotice.bound)
        .order_by(DemoNotice.id)).all()])


async def test_notify_binding_is_idempotent(billing: Billing):
    gw, key = billing.gateway, new_key()
    first = await gw.notify_binding("ctr-1001", True, key)
    again = await gw.notify_binding("ctr-1001", True, key)
    assert again == first and first.idempotency_key == key and first.reference
    other = await gw.notify_binding("ctr-1001", False, new_key())
    assert other.reference != first.reference
    assert _notices(billing) == [(key, "ctr-1001", True), (other.idempotency_key, "ctr-1001", False)]


async def test_notify_binding_refusals_carry_codes(billing: Billing):
    gw, key = billing.gateway, new_key()
    await gw.notify_binding("ctr-1001", True, key)
    with pytest.raises(BillingRejected) as caught:
        await gw.notify_binding("ctr-1001", False, key)
    assert caught.value.code == "idempotency.conflict"
    with pytest.raises(BillingRejected) as caught:
        await gw.notify_binding("ctr-9999", True, new_key())
    assert (caught.value.code, caught.value.params) == ("contract.not_found", {"contract": "ctr-9999"})
    with pytest.raises(BillingRejected) as caught:
        await gw.notify_binding("ctr-1001", True, "short")
    assert caught.value.code == "notice.bad_idempotency_key"
    assert len(_notices(billing)) == 1


# --------------------------------------------------------------------------- health and outages


async def test_health_names_the_supplier(billing: Billing):
    health = await billing.gateway.health()
    assert (health.supplier, health.api_version) == (SUPPLIER, "1")


async def test_billing_down_is_unavailable_for_every_call(billing: Billing):
    down = billing.make_down()
    try:
        calls = [
            down.health(),
            down.find_contract("7701000001", "770101001", "Д-1001"),
            down.get_contract("ctr-1001"),
            down.list_contracts("org-romashka"),
            down.changes(ChangeKind.CONTRACTS, None, 10),
            down.notify_binding("ctr-1001", True, new_key()),
        ]
        for call in calls:
            with pytest.raises(BillingUnavailable):
                await call
    finally:
        await down.aclose()
    assert _notices(billing) == []


# --------------------------------------------------------------------------- HTTP only


async def test_a_wrong_token_is_unavailable_not_a_refusal(reference_server: ReferenceServer):
    from lkk_app.billing.adapters.http import HttpBilling

    gw = HttpBilling(reference_server.url, "not-the-token", retry_delays=())
    try:
        for call in (gw.health(), gw.notify_binding("ctr-1001", True, new_key())):
            with pytest.raises(BillingUnavailable) as caught:
                await call
            assert caught.value.reason == "unauthorized"
    finally:
        await gw.aclose()
    async with httpx.AsyncClient(base_url=reference_server.url) as client:
        for headers in ({}, {"Authorization": "Bearer " + TOKEN[:-1]}, {"Authorization": TOKEN}):
            r = await client.get("/v1/contracts/ctr-1001", headers=headers)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
            assert r.json() == {"code": "auth.invalid_token", "params": {}}


async def test_the_reference_server_limits_what_it_reads(reference_server: ReferenceServer):
    auth = {"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": new_key()}
    async with httpx.AsyncClient(base_url=reference_server.url + "/v1", headers=auth) as client:
        big = await client.post("/contracts/lookup", content=b" " * (16 * 1024 + 1))
        assert (big.status_code, big.json()["code"]) == (400, "request.too_large")
        long = await client.post("/contracts/lookup",
                                 json={"inn": "7" * 65, "kpp": None, "number": "Д-1001"})
        assert long.status_code == 400 and long.json() == {"code": "request.invalid", "params": {"field": "inn"}}
        wrong = await client.post("/contracts/ctr-1001/binding", json={"bound": "yes"})
        assert wrong.json() == {"code": "request.invalid", "params": {"field": "bound"}}
