"""Registration limits that hold without the authorization code, and no word
about taken logins before the code (``auth/registration.py``); SQLite and
PostgreSQL.

* per client IP 5 per hour and 20 per day, 200 per hour across the site,
  reserved before bcrypt, race-free;
* 3 confirmation letters per day to one address, registrations and resends
  together; beyond that the same answer and no letter;
* only a caller with the right code learns «Этот логин уже занят».
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from lkk_app import db as db_module
from lkk_app.models import CaptchaChallenge, OutboxMessage, RateEvent, User
from lkk_app.auth import captcha, ratelimit, registration, users
from lkk_app.auth.ratelimit import (
    CONFIRMATION_LETTERS_PER_ADDRESS,
    REGISTRATION_GLOBAL,
    REGISTRATION_PER_IP,
)
from lkk_app.core.errors import Code
from lkk_app.settings import reload_settings

PASSWORD = "Тёплый ветер над Волгой"
CODE = "735190"
TAKEN = Code("login_field.taken")


@pytest.fixture
def cfg(make_settings):
    """Fast bcrypt, every code :data:`CODE`."""
    return make_settings(bcrypt_cost=4, captcha_fixed_code=CODE)


@pytest.fixture
def scope(engine):
    """What ``db.session_scope`` is to the app, on the test database."""

    @contextlib.contextmanager
    def open_scope():
        with Session(engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    return open_scope


def form(login: str, email: str | None = None, code: str = CODE, **overrides) -> dict[str, str]:
    values = {"login": login, "email": email or f"{login}@example.com", "phone": "",
              "password": PASSWORD, "password_confirm": PASSWORD, "code": code}
    values.update(overrides)
    return values


def challenge(scope, cfg) -> str:
    with scope() as s:
        challenge_id, _ = captcha.new_challenge(s, settings=cfg)
    return challenge_id


def attempt(scope, cfg, fields: dict[str, str], ip: str = "198.51.100.7",
            challenge_id: str | None = None) -> registration.Outcome:
    if challenge_id is None:
        challenge_id = challenge(scope, cfg)
    return registration.attempt(scope, form=fields, challenge_id=challenge_id, ip=ip, settings=cfg)


def rows(scope, model) -> int:
    with scope() as s:
        return s.exec(select(func.count()).select_from(model)).one()


def letters_to(scope, address: str) -> int:
    with scope() as s:
        return s.exec(select(func.count()).select_from(OutboxMessage)
                      .where(OutboxMessage.recipient == address)).one()


def taken_account(scope, cfg, login: str = "Zanyat") -> None:
    with scope() as s:
        users.create_user(s, login=login, email="owner@example.com", password=PASSWORD,
                          confirmed=True, settings=cfg)


def test_documented_limits():
    assert REGISTRATION_PER_IP == ((5, timedelta(hours=1)), (20, timedelta(days=1)))
    assert REGISTRATION_GLOBAL == (200, timedelta(hours=1))
    assert CONFIRMATION_LETTERS_PER_ADDRESS == (3, timedelta(days=1))


# --------------------------------------------------------------------------- taken logins


@pytest.mark.parametrize("code", ["", "000000", CODE + "1"])
def test_no_word_about_a_taken_login_without_the_right_code(scope, cfg, code):
    taken_account(scope, cfg)
    outcome = attempt(scope, cfg, form("zanyat", code=code))
    assert outcome.email == "" and outcome.refusal is None
    assert set(outcome.errors) == {"code"}, outcome.errors
    assert TAKEN.key not in str(outcome)
    assert outcome.errors["code"] == Code("captcha.empty" if not code else "captcha.wrong")
    # Nothing was counted, nothing written but the spent challenge.
    assert rows(scope, RateEvent) == 0 and rows(scope, User) == 1


def test_a_spent_or_unknown_challenge_reveals_nothing_either(scope, cfg):
    taken_account(scope, cfg)
    challenge_id = challenge(scope, cfg)
    attempt(scope, cfg, form("other1", code="000000"), challenge_id=challenge_id)
    for used in (challenge_id, "x" * 32, ""):
        outcome = attempt(scope, cfg, form("zanyat"), challenge_id=used)
        assert set(outcome.errors) == {"code"} and TAKEN.key not in str(outcome)


def test_format_errors_show_with_a_wrong_code_but_not_the_taken_login(scope, cfg):
    taken_account(scope, cfg)
    outcome = attempt(scope, cfg, form("zanyat", email="bad", password="1", password_confirm="2",
                                       code="000000"))
    assert set(outcome.errors) == {"email", "password", "password_confirm", "code"}
    assert rows(scope, RateEvent) == 0


def test_the_right_code_learns_that_the_login_is_taken(scope, cfg):
    taken_account(scope, cfg)
    outcome = attempt(scope, cfg, form("ZANYAT"))
    assert outcome.errors == {"login": TAKEN}
    # The attempt counted against the limits: probing logins is limited too.
    with scope() as s:
        assert ratelimit.count(s, ratelimit.bucket_name("register", "ip", "198.51.100.7"),
                               timedelta(hours=1)) == 1


def test_a_good_registration_creates_the_account_and_its_letter(scope, cfg):
    outcome = attempt(scope, cfg, form("novyi"))
    assert outcome == registration.Outcome(email="novyi@example.com")
    assert rows(scope, User) == 1 and letters_to(scope, "novyi@example.com") == 1


# --------------------------------------------------------------------------- per IP, global


def test_five_per_hour_and_twenty_per_day_per_ip(scope, cfg, frozen_clock):
    ip = "203.0.113.5"
    for i in range(5):
        assert attempt(scope, cfg, form(f"ip{i}"), ip=ip).email, i
    refused = attempt(scope, cfg, form("ip5"), ip=ip)
    assert refused.refusal == Code("register.ip_limited")
    assert refused.errors == {} and refused.email == ""
    assert rows(scope, User) == 5
    # Another address is not affected; IPv6 counts per /64.
    assert attempt(scope, cfg, form("other"), ip="203.0.113.6").email
    # An hour later five more, and so on up to twenty a day.
    made = 5
    for hour in range(1, 4):
        frozen_clock.advance(hours=1)
        for i in range(5):
            assert attempt(scope, cfg, form(f"h{hour}n{i}"), ip=ip).email
            made += 1
    assert made == 20
    frozen_clock.advance(hours=1)
    assert attempt(scope, cfg, form("day21"), ip=ip).refusal == Code("register.ip_limited")
    frozen_clock.advance(hours=20)  # a day after the first five: they left the window
    assert attempt(scope, cfg, form("nextday"), ip=ip).email


def test_a_refused_registration_is_refused_before_the_login_is_looked_at(scope, cfg):
    ip = "203.0.113.9"
    for i in range(5):
        assert attempt(scope, cfg, form(f"fill{i}"), ip=ip).email
    taken_account(scope, cfg)
    outcome = attempt(scope, cfg, form("zanyat"), ip=ip)
    assert outcome.refusal and outcome.errors == {}


def test_ipv6_clients_count_per_64(scope, cfg):
    for i in range(5):
        assert attempt(scope, cfg, form(f"v6n{i}"), ip=f"2001:db8:1:2::{i + 1}").email
    assert attempt(scope, cfg, form("v6n5"), ip="2001:db8:1:2:ffff::9").refusal


def test_two_hundred_per_hour_across_the_site(scope, cfg, frozen_clock):
    # The reservation alone (the limit is counted before any bcrypt).
    for i in range(200):
        with scope() as s:
            assert registration.reserve(s, ip=f"10.0.{i // 250}.{i % 250}", settings=cfg) is None
    outcome = attempt(scope, cfg, form("late"), ip="192.0.2.200")
    assert outcome.refusal == Code("register.busy")
    assert rows(scope, User) == 0
    frozen_clock.advance(hours=1)
    assert attempt(scope, cfg, form("late"), ip="192.0.2.200").email


def test_exempt_ips_are_not_counted_per_ip_but_globally(scope, cfg):
    exempt = dataclasses.replace(cfg, rate_exempt_ips=("127.0.0.1",))
    for i in range(7):
        assert attempt(scope, exempt, form(f"ex{i}"), ip="127.0.0.1").email
    with scope() as s:
        assert ratelimit.count(s, ratelimit.REGISTRATION_GLOBAL_BUCKET, timedelta(hours=1)) == 7


def test_the_reservation_comes_before_bcrypt(scope, cfg, monkeypatch):
    """Refused registrations cost no password hash."""
    from lkk_app.auth import passwords

    for i in range(5):
        assert attempt(scope, cfg, form(f"bb{i}"), ip="192.0.2.1").email
    calls = []
    real = passwords.hash_password
    monkeypatch.setattr(passwords, "hash_password", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert attempt(scope, cfg, form("bb5"), ip="192.0.2.1").refusal
    assert calls == []


def test_racing_registrations_from_one_ip_never_exceed_five(scope, cfg, engine):
    threads_count = 12
    challenges = [challenge(scope, cfg) for _ in range(threads_count)]
    barrier = threading.Barrier(threads_count)
    outcomes: list[registration.Outcome] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            outcome = attempt(scope, cfg, form(f"race{i}"), ip="192.0.2.77",
                              challenge_id=challenges[i])
            with lock:
                outcomes.append(outcome)
        except BaseException as exc:  # pragma: no cover - reported below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert len(outcomes) == threads_count
    assert sum(bool(o.email) for o in outcomes) == 5
    assert sum(bool(o.refusal) for o in outcomes) == threads_count - 5
    assert rows(scope, User) == 5


# --------------------------------------------------------------------------- letters per address


def test_three_letters_a_day_to_one_address_then_the_same_answer_without_a_letter(
        scope, cfg, frozen_clock):
    address = "Victim@Example.com"
    for i in range(3):
        assert attempt(scope, cfg, form(f"vv{i}", email=address), ip=f"192.0.2.{i}").email
    # The fourth, from yet another IP and with another case: the same answer…
    outcome = attempt(scope, cfg, form("vv3", email="victim@example.COM"), ip="192.0.2.99")
    assert outcome == registration.Outcome(email="victim@example.COM")
    # …an account, but no fourth letter.
    assert rows(scope, User) == 4
    with scope() as s:
        assert s.exec(select(func.count()).select_from(OutboxMessage)).one() == 3
    # The address itself is not stored in the rate table.
    with scope() as s:
        assert not any("victim" in b.lower()
                       for b in s.exec(select(RateEvent.bucket)).all())
    frozen_clock.advance(days=1, seconds=1)
    assert attempt(scope, cfg, form("vv4", email=address), ip="192.0.2.98").email
    with scope() as s:
        assert s.exec(select(func.count()).select_from(OutboxMessage)).one() == 4


def test_resends_count_with_registrations(scope, cfg, db_url, monkeypatch, frozen_clock):
    from lkk_app.auth import confirmation

    monkeypatch.setenv("REFLEX_DB_URL", db_url)
    monkeypatch.setenv("LKK_SECRET_KEY", "unit-test-secret-key-0123456789-abcdefghij")
    reload_settings()
    db_module.reset_engine()
    app_cfg = dataclasses.replace(cfg, secret_key=b"unit-test-secret-key-0123456789-abcdefghij")
    address = "twice@example.com"
    assert attempt(scope, app_cfg, form("tt1", email=address)).email
    assert attempt(scope, app_cfg, form("tt2", email=address), ip="192.0.2.2").email
    with scope() as s:
        user_id = users.get_user_by_login(s, "tt1").id
    with db_module.session_scope() as s:
        assert confirmation.resend(s, user_id) == confirmation.RESENT  # the third letter of the day
    assert letters_to(scope, address) == 3
    frozen_clock.advance(minutes=3)  # past the per-account 2 minutes
    with db_module.session_scope() as s:
        # A fourth: refused, and the ticket holder (right password) is told so.
        assert confirmation.resend(s, user_id) == confirmation.RESEND_LIMITED
    assert letters_to(scope, address) == 3
    db_module.reset_engine()


def test_racing_letters_to_one_address_never_exceed_three(engine, cfg, new_session):
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    results: list[bool] = []
    lock = threading.Lock()
    sessions = [new_session() for _ in range(threads_count)]

    def run(session) -> None:
        barrier.wait(timeout=30)
        ok = registration.letter_allowed(session, "race@example.com", settings=cfg)
        session.commit()
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=run, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == [False] * 5 + [True] * 3


def test_no_challenge_row_is_left_guessable_by_a_refused_registration(scope, cfg):
    """The code is spent before the limits: a refused attempt cannot be retried
    with the same challenge."""
    ip = "192.0.2.50"
    for i in range(5):
        assert attempt(scope, cfg, form(f"cc{i}"), ip=ip).email
    challenge_id = challenge(scope, cfg)
    assert attempt(scope, cfg, form("cc5"), ip=ip, challenge_id=challenge_id).refusal
    with scope() as s:
        row = s.exec(select(CaptchaChallenge).where(
            CaptchaChallenge.challenge_id == challenge_id)).one()
        assert row.used_at is not None
