"""«Привязать договор» end to end in the domain: the demo billing in the same
database, letters in the outbox, codes from the letters' seeds (SQLite and
PostgreSQL)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlmodel import Session, select

from lkk_app.billing import binding, binding_flow, deliveries
from lkk_app.billing.adapters.demo import DemoBilling
from lkk_app.billing.adapters.demo_tables import DemoNotice, DemoOrganisation
from lkk_app.billing.binding_tables import ADMINISTRATOR, BindingRequest
from lkk_app.core import tokens
from lkk_app.core.errors import FieldErrors
from lkk_app.mail import outbox
from lkk_app.models import AuditEvent, OutboxMessage
from lkk_app.settings import get_settings
from tests.fixtures.billing_world import DemoWorld, open_demo_world

pytestmark = pytest.mark.asyncio
START = datetime(2026, 11, 20, 9, 0, 0)


@pytest.fixture
def world(engine, frozen_clock) -> DemoWorld:
    """The demo billing of 20.11.2026, nothing copied into the cabinet yet."""
    return open_demo_world(engine, frozen_clock, START)


@pytest.fixture
def gateway(world: DemoWorld) -> DemoBilling:
    return world.gateway


def letters(engine, template: str) -> list[OutboxMessage]:
    with Session(engine) as db:
        return list(db.exec(select(OutboxMessage).where(OutboxMessage.template == template)
                            .order_by(OutboxMessage.id)).all())


def code_of(letter: OutboxMessage) -> str:
    """The code the letter carries, as the sender mints it."""
    seed = outbox.letter_seed(letter, get_settings())
    assert seed is not None
    return tokens.digits_from_seed(seed)


async def start(gateway, engine, user_id, inn="7701000001", kpp="770101001", number="Д-1001"):
    return await binding_flow.request_binding(gateway, user_id=user_id, inn=inn, kpp=kpp, number=number,
                                              engine=engine)


async def refused(call) -> str:
    with pytest.raises(binding.BindingError) as caught:
        await call
    return caught.value.code


async def test_the_code_goes_to_the_email_of_record_and_binds_the_contract(world, gateway, engine):
    ann = world.user("ann").id
    sent = await start(gateway, engine, ann)
    assert isinstance(sent, binding_flow.CodeSent)
    assert sent.masked_email == "e***@romashka-demo.example" and sent.contract_number == "Д-1001"
    [letter] = letters(engine, "binding_code")
    assert letter.recipient == "energo@romashka-demo.example"
    code = code_of(letter)
    assert code not in letter.params_json and "code" not in json.loads(letter.params_json)
    with Session(engine) as db:  # the sender's minter gives this letter's code
        assert binding_flow.mint_binding_code(db, ann, letter_seed=outbox.letter_seed(letter, get_settings())) == code
        request = db.get(BindingRequest, sent.request_id)
        assert request.code_hash and code not in request.code_hash
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(binding.BindingError) as caught:
        await binding_flow.confirm_binding(gateway, user_id=ann, request_id=sent.request_id, code=wrong,
                                           engine=engine)
    assert (caught.value.code, caught.value.params) == ("binding.code_wrong", {"left": 4})
    bound = await binding_flow.confirm_binding(gateway, user_id=ann, request_id=sent.request_id,
                                               code=f" {code[:3]} {code[3:]} ", engine=engine)
    assert bound.contract_numbers == ("Д-1001",) and bound.organisation_name == "ООО «Ромашка-Демо»"
    assert [c.number for c in bound.offered] == ["Д-1002"]
    with Session(engine) as db:
        assert binding.role_in(db, ann, "org-romashka") == ADMINISTRATOR
        assert [c.number for c in binding.bound_contracts(db, ann).contracts] == ["Д-1001"]
        [job] = db.exec(select(deliveries.BillingDelivery)).all()
        assert json.loads(job.payload_json) == {"bound": True, "contract_key": "ctr-1001"}
        events = [e.event for e in db.exec(select(AuditEvent).where(AuditEvent.user_id == ann))]
        assert events == ["binding_requested", "binding_failed", "binding_confirmed"]
    # The code is spent with its request, and a finished request's letter is not wanted any more.
    assert await refused(binding_flow.confirm_binding(gateway, user_id=ann, request_id=sent.request_id,
                                                      code=code, engine=engine)) == "binding.request_ended"
    with Session(engine) as db:
        assert binding_flow.mint_binding_code(db, ann, letter_seed=outbox.letter_seed(letter, get_settings())) is None


async def test_the_other_contracts_are_bound_on_request_and_billing_is_told(world, gateway, engine):
    ann = world.user("ann").id
    sent = await start(gateway, engine, ann)
    await binding_flow.confirm_binding(gateway, user_id=ann, request_id=sent.request_id,
                                       code=code_of(letters(engine, "binding_code")[0]), engine=engine)
    assert await binding_flow.bind_more(gateway, user_id=ann, organisation_key="org-romashka",
                                        contract_keys=["ctr-1002", "ctr-2001", 5], engine=engine) == ("Д-1002",)
    worker = deliveries.DeliveryWorker(gateway, engine=engine)
    assert await worker.run_once() == 2
    with Session(engine) as db:
        jobs = db.exec(select(deliveries.BillingDelivery)).all()
        assert {j.status for j in jobs} == {"done"} and all(j.reference.startswith("N-") for j in jobs)
        assert sorted(n.contract_key for n in db.exec(select(DemoNotice))) == ["ctr-1001", "ctr-1002"]
        assert deliveries.pending_count(db) == 0


async def test_a_delivery_waits_while_billing_is_down(world, gateway, engine, tmp_path):
    ann = world.user("ann").id
    sent = await start(gateway, engine, ann)
    await binding_flow.confirm_binding(gateway, user_id=ann, request_id=sent.request_id,
                                       code=code_of(letters(engine, "binding_code")[0]), engine=engine)
    from lkk_app.db import make_engine

    down = DemoBilling(make_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}"), supplier="x", owns_engine=True)
    assert await deliveries.DeliveryWorker(down, engine=engine).run_once() == 1
    with Session(engine) as db:
        [job] = db.exec(select(deliveries.BillingDelivery)).all()
        assert job.status == "pending" and job.attempts == 1 and "unavailable" in job.last_error
        assert deliveries.pending_count(db) == 1
    await down.aclose()


@pytest.mark.parametrize("inn,kpp,number", [
    ("7701000001", "770101002", "Д-1001"),  # wrong КПП
    ("5003000008", "500301001", "Д-1001"),  # another organisation's contract
    ("7701000001", "770101001", "Д-1009"),  # no such number
])
async def test_any_wrong_part_gives_the_same_not_found(world, gateway, engine, inn, kpp, number):
    ann = world.user("ann").id
    assert await refused(start(gateway, engine, ann, inn, kpp, number)) == "binding.not_found"
    assert letters(engine, "binding_code") == []
    with Session(engine) as db:
        [request] = db.exec(select(BindingRequest)).all()
        assert request.status == "not_found" and request.contract_key is None


async def test_bad_fields_are_refused_before_billing_is_asked(world, gateway, engine):
    ann = world.user("ann").id
    with pytest.raises(FieldErrors) as caught:
        await start(gateway, engine, ann, "7701000002", "", "")
    assert caught.value.codes() == {"inn": "binding.inn_checksum", "kpp": "binding.kpp_required",
                                    "number": "binding.number_required"}


async def test_five_wrong_codes_end_the_request(world, gateway, engine):
    ann = world.user("ann").id
    sent = await start(gateway, engine, ann)
    code = code_of(letters(engine, "binding_code")[0])
    wrong = "000000" if code != "000000" else "111111"
    outcomes = [await refused(binding_flow.confirm_binding(gateway, user_id=ann, request_id=sent.request_id,
                                                           code=wrong, engine=engine)) for _ in range(5)]
    assert outcomes == ["binding.code_wrong"] * 4 + ["binding.code_ended"]
    assert await refused(binding_flow.confirm_binding(gateway, user_id=ann, request_id=sent.request_id,
                                                      code=code, engine=engine)) == "binding.request_ended"


async def test_a_code_lives_15_minutes(world, gateway, engine, frozen_clock):
    ann = world.user("ann").id
    sent = await start(gateway, engine, ann)
    code = code_of(letters(engine, "binding_code")[0])
    frozen_clock.advance(minutes=15, seconds=1)
    assert await refused(binding_flow.confirm_binding(gateway, user_id=ann, request_id=sent.request_id,
                                                      code=code, engine=engine)) == "binding.code_expired"


async def test_a_new_code_after_a_minute_replaces_the_old_one(world, gateway, engine, frozen_clock):
    ann = world.user("ann").id
    sent = await start(gateway, engine, ann)
    assert sent.resend_at is not None
    with pytest.raises(binding.BindingError) as caught:
        await binding_flow.resend_code(gateway, user_id=ann, request_id=sent.request_id, engine=engine)
    assert caught.value.code == "binding.resend_wait"
    frozen_clock.advance(seconds=61)
    await binding_flow.resend_code(gateway, user_id=ann, request_id=sent.request_id, engine=engine)
    first, second = letters(engine, "binding_code")
    if code_of(first) != code_of(second):
        assert await refused(binding_flow.confirm_binding(
            gateway, user_id=ann, request_id=sent.request_id, code=code_of(first), engine=engine)) \
            == "binding.code_wrong"
    await binding_flow.confirm_binding(gateway, user_id=ann, request_id=sent.request_id,
                                       code=code_of(second), engine=engine)


async def test_someone_else_meets_the_administrator_who_gets_a_letter(world, gateway, engine):
    ann, bob = world.user("ann").id, world.user("bob").id
    sent = await start(gateway, engine, ann)
    await binding_flow.confirm_binding(gateway, user_id=ann, request_id=sent.request_id,
                                       code=code_of(letters(engine, "binding_code")[0]), engine=engine)
    for number in ("Д-1001", "Д-1002"):  # bound, or not bound but the organisation has an administrator
        asked = await start(gateway, engine, bob, number=number)
        assert asked == binding_flow.AccessAsked(number)
    asks = letters(engine, "binding_access_request")
    assert [a.recipient for a in asks] == ["ann@example.org"] * 2
    assert json.loads(asks[0].params_json)["requester"] == "bob"
    assert len(letters(engine, "binding_code")) == 1  # no code went out for bob
    assert await refused(start(gateway, engine, ann)) == "binding.already_yours"


async def test_three_requests_per_contract_and_ten_per_user_a_day(world, gateway, engine, frozen_clock):
    users = [world.user(name).id for name in ("ann", "bob", "cid", "dan")]
    for user in users[:3]:
        await start(gateway, engine, user)
    assert await refused(start(gateway, engine, users[3])) == "binding.contract_limit"
    frozen_clock.advance(hours=24, seconds=1)
    await start(gateway, engine, users[3])
    eve = world.user("eve").id
    for _ in range(10):
        await refused(start(gateway, engine, eve, number="Д-0000"))
    with pytest.raises(binding.BindingError) as caught:
        await start(gateway, engine, eve, number="Д-2001", inn="5003000008", kpp="500301001")
    assert caught.value.code == "binding.user_limit"
    assert caught.value.params["until"] == frozen_clock.now + binding_flow.binding_rules.LIMIT_WINDOW


async def test_without_an_email_of_record_a_curators_code_binds(world, gateway, engine):
    with Session(engine) as db:
        org = db.get(DemoOrganisation, "org-zarya")
        org.emails = ""
        db.add(org)
        db.commit()
        curator_code = binding.issue_curator_code(db, "ctr-2001", get_settings())
        db.commit()
    ann = world.user("ann").id
    sent = await start(gateway, engine, ann, "5003000008", "500301001", "Д-2001")
    assert sent.masked_email is None and letters(engine, "binding_code") == []
    assert await refused(binding_flow.resend_code(gateway, user_id=ann, request_id=sent.request_id,
                                                  engine=engine)) == "binding.no_email"
    bound = await binding_flow.confirm_binding(gateway, user_id=ann, request_id=sent.request_id,
                                               code=curator_code, engine=engine)
    assert bound.contract_numbers == ("Д-2001",)


async def test_only_the_administrator_unbinds_and_billing_is_told(world, gateway, engine):
    ann, bob = world.user("ann").id, world.user("bob").id
    sent = await start(gateway, engine, ann)
    await binding_flow.confirm_binding(gateway, user_id=ann, request_id=sent.request_id,
                                       code=code_of(letters(engine, "binding_code")[0]), engine=engine)
    with pytest.raises(binding.BindingError) as caught:
        await binding_flow.unbind_contract(user_id=bob, contract_key="ctr-1001", engine=engine)
    assert caught.value.code == "contract.not_found"
    assert await binding_flow.unbind_contract(user_id=ann, contract_key="ctr-1001", engine=engine) == "Д-1001"
    with Session(engine) as db:
        assert binding.bound_contracts(db, ann).total == 0
        payloads = [json.loads(j.payload_json) for j in db.exec(select(deliveries.BillingDelivery))]
        assert {"bound": False, "contract_key": "ctr-1001"} in payloads


async def test_the_code_letter_shows_the_code_the_contract_and_the_organisation():
    from lkk_app.mail import templates

    subject, text, html = templates.render(
        "binding_code", {"login": "ann", "contract": "Д-1001", "organisation": "ООО «Ромашка-Демо»"},
        secret="123456")
    assert "Д-1001" in subject and "Код подтверждения: 123456" in text and "123456" in html
    assert "ООО «Ромашка-Демо»" in text and "&laquo;" not in text
    with pytest.raises(templates.MailTemplateError):
        templates.render("binding_code", {"login": "ann", "contract": "Д-1001", "organisation": "x"})
    with pytest.raises(templates.MailTemplateError):  # a code is never a stored parameter
        templates.check_params("binding_code", {"login": "a", "contract": "b", "organisation": "c", "code": "1"})
