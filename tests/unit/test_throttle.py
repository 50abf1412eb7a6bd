"""Throttling of failed password checks per key (SECURITY.md, "Passwords and credentials"); SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from lkk_app.models import LoginThrottle
from lkk_app.auth import throttle, users

PASSWORD = "Синий трактор 77"
IP = "192.0.2.1"


def key(login, settings, ip=IP):
    return throttle.client_key(login, ip=ip, settings=settings)


def fail(db, login, times=1, settings=None):
    state = None
    for _ in range(times):
        state = throttle.record_failure(db, key(login, settings))
    db.commit()
    return state


def check(db, login, settings):
    return throttle.check(db, key(login, settings))


def test_documented_numbers():
    assert throttle.THRESHOLD == 5
    assert throttle.BASE_DELAY == timedelta(seconds=30)
    assert throttle.MAX_DELAY == timedelta(minutes=15)


def test_a_fresh_login_is_not_throttled(db, settings, frozen_clock):
    state = check(db, "ivanov", settings)
    assert state == throttle.ThrottleState(needs_captcha=False, retry_at=None, failures=0)
    assert not state.waiting()


def test_four_failures_change_nothing(db, settings, frozen_clock):
    state = fail(db, "ivanov", 4, settings)
    assert state.failures == 4 and state.needs_captcha is False and state.retry_at is None
    assert check(db, "ivanov", settings) == state


def test_fifth_failure_needs_the_code_and_waits_30_seconds(db, settings, frozen_clock):
    fail(db, "ivanov", 4, settings)
    state = fail(db, "ivanov", 1, settings)
    assert state.needs_captcha is True
    assert state.retry_at == frozen_clock.now + timedelta(seconds=30)
    assert check(db, "ivanov", settings) == state
    frozen_clock.advance(seconds=29)
    assert check(db, "ivanov", settings).waiting()
    frozen_clock.advance(seconds=1)
    # The wait is over, the code is still needed.
    after = check(db, "ivanov", settings)
    assert after.retry_at is None and after.needs_captcha is True and not after.waiting()


def test_the_wait_doubles_up_to_15_minutes(db, settings, frozen_clock):
    fail(db, "ivanov", 4, settings)
    waits = []
    for _ in range(8):
        state = fail(db, "ivanov", 1, settings)
        waits.append(state.retry_at - frozen_clock.now)
        frozen_clock.advance(seconds=waits[-1].total_seconds())
    assert [w.total_seconds() for w in waits] == [30, 60, 120, 240, 480, 900, 900, 900]
    assert [throttle.delay_after(n) for n in (0, 4)] == [None, None]
    assert throttle.delay_after(1000) == timedelta(minutes=15)


def test_never_a_permanent_lock(db, settings, frozen_clock):
    fail(db, "ivanov", 50, settings)
    frozen_clock.advance(minutes=15)
    state = check(db, "ivanov", settings)
    assert state.retry_at is None and state.needs_captcha is True


def test_success_resets(db, settings, frozen_clock):
    fail(db, "ivanov", 7, settings)
    throttle.reset(db, key("ivanov", settings))
    db.commit()
    assert check(db, "ivanov", settings) == throttle.ThrottleState()
    assert db.exec(select(LoginThrottle)).all() == []
    # Counting starts again from one.
    assert fail(db, "ivanov", 1, settings).failures == 1


def test_unknown_login_is_throttled_the_same_way(db, settings, frozen_clock):
    users.create_user(db, login="ivanov", email="ivanov@example.com", password=PASSWORD,
                      confirmed=True, settings=settings)
    db.commit()
    known = fail(db, "ivanov", 6, settings)
    unknown = fail(db, "nobody-at-all", 6, settings)
    assert known == unknown
    assert known.needs_captcha and known.retry_at == frozen_clock.now + timedelta(seconds=60)


def test_keyed_by_login_key_not_by_spelling(db, settings, frozen_clock):
    fail(db, "Ivanov", 3, settings)
    fail(db, " ＩＶＡＮＯＶ ", 2, settings)
    assert check(db, "ivanov", settings).failures == 5
    assert check(db, "petrov", settings).failures == 0


def test_the_table_holds_no_login_in_clear(db, settings, frozen_clock):
    fail(db, "ivanov", 1, settings)
    row = db.exec(select(LoginThrottle)).one()
    assert "ivanov" not in row.key_hash
    assert len(row.key_hash) == 64
    assert IP not in row.key_hash
    assert len(row.key_hash) == 64
    assert row.key_hash == key("IVANOV", settings)
    # Keyed with the secret: another key gives another hash.
    import dataclasses
    other = dataclasses.replace(settings, secret_key=b"another-secret-key-0123456789-abcdef")
    assert key("ivanov", other) != row.key_hash


@pytest.mark.parametrize("odd", ["", "a\x00b", "x" * 100_000, "\ud800", "  "])
def test_any_input_has_a_key(db, settings, frozen_clock, odd):
    state = fail(db, odd, 5, settings)
    assert state.needs_captcha and check(db, odd, settings).waiting()


def test_failures_older_than_a_day_are_forgotten(db, settings, frozen_clock):
    fail(db, "ivanov", 8, settings)
    frozen_clock.advance(hours=24, seconds=1)
    assert check(db, "ivanov", settings) == throttle.ThrottleState()
    state = fail(db, "ivanov", 1, settings)
    assert state.failures == 1 and state.retry_at is None and not state.needs_captcha
    assert check(db, "ivanov", settings).retry_at is None


def test_purge_deletes_only_forgotten_rows(db, settings, frozen_clock):
    fail(db, "old", 3, settings)
    frozen_clock.advance(hours=25)
    fail(db, "new", 3, settings)
    assert throttle.purge(db) == 1
    db.commit()
    assert check(db, "new", settings).failures == 3


def test_unix_seconds_rounds_up():
    from datetime import datetime
    assert throttle.unix_seconds(datetime(1970, 1, 1, 0, 0, 10)) == 10
    assert throttle.unix_seconds(datetime(1970, 1, 1, 0, 0, 10, 1)) == 11


@pytest.mark.parametrize("earlier", [0, 1])
def test_concurrent_failures_are_all_counted(db, settings, new_session, frozen_clock, earlier):
    # earlier=0: every thread races to create the row; 1: to update it.
    fail(db, "ivanov", earlier, settings)
    threads_count = 12
    barrier = threading.Barrier(threads_count)
    errors: list[BaseException] = []
    sessions = [new_session() for _ in range(threads_count)]
    counts: list[int] = []
    lock = threading.Lock()

    def attempt(session) -> None:
        try:
            barrier.wait(timeout=10)
            state = throttle.record_failure(session, key("ivanov", settings))
            session.commit()
            with lock:
                counts.append(state.failures)
        except BaseException as exc:  # noqa: BLE001 - reported below
            session.rollback()
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    # Each failure saw its own count, no lost update.
    assert sorted(counts) == list(range(earlier + 1, earlier + threads_count + 1))
    state = check(db, "ivanov", settings)
    assert state.failures == earlier + threads_count
    # The wait belongs to the last count (12th failure: 30 s · 2^7 → capped 15 min).
    assert state.retry_at == frozen_clock.now + timedelta(minutes=15)


# --------------------------------------------------------------------------- keys


def test_keys_per_login_and_client(settings):
    by_ip = key("ivanov", settings)
    assert by_ip == key(" IVANOV ", settings)  # the login as a login key
    assert by_ip != key("ivanov", settings, ip="192.0.2.2")
    assert by_ip != throttle.key_hash("ivanov", settings=settings)
    # IPv6 by /64: neighbours share a key, other networks do not.
    assert key("ivanov", settings, ip="2001:db8::1") == key("ivanov", settings, ip="2001:db8::ffff")
    assert key("ivanov", settings, ip="2001:db8::1") != key("ivanov", settings, ip="2001:db8:1::1")
    device = "a" * 64
    assert throttle.client_key("ivanov", device=device, settings=settings) not in (
        by_ip, throttle.client_key("ivanov", device="b" * 64, settings=settings),
        throttle.client_key("petrov", device=device, settings=settings))
    assert throttle.subject_key("password-change", 7, settings=settings) != throttle.subject_key(
        "password-change", 8, settings=settings)
    with pytest.raises(TypeError):
        throttle.check(None, "ivanov")  # a login is not a key


# --------------------------------------------------------------------------- reserve


def test_reserve_counts_before_the_check_and_refuses_past_the_rule(db, settings, frozen_clock):
    k = key("ivanov", settings)
    for n in range(1, 5):
        r = throttle.reserve(db, k)
        assert r.allowed and r.state == throttle.ThrottleState(False, None, n)
    # The 5th is allowed (no code needed yet) and starts the wait at once.
    fifth = throttle.reserve(db, k)
    db.commit()
    assert fifth.allowed and fifth.state.failures == 5
    assert fifth.state.retry_at == frozen_clock.now + timedelta(seconds=30)
    # During the wait: refused, with or without a right code; nothing counted.
    for code_ok in (False, True):
        r = throttle.reserve(db, k, code_ok=code_ok)
        assert (r.allowed, r.refusal) == (False, "wait")
    assert throttle.check(db, k).failures == 5
    frozen_clock.advance(seconds=30)
    # After the wait: the code is needed.
    r = throttle.reserve(db, k)
    assert (r.allowed, r.refusal) == (False, "captcha")
    r = throttle.reserve(db, k, code_ok=True)
    assert r.allowed and r.state.failures == 6
    assert r.state.retry_at == frozen_clock.now + timedelta(seconds=60)
    # A success takes it all back.
    throttle.reset(db, k)
    assert throttle.reserve(db, k).state.failures == 1


def test_reserved_waits_double_up_to_15_minutes(db, settings, frozen_clock):
    k = key("ivanov", settings)
    waits = []
    for n in range(1, 14):
        r = throttle.reserve(db, k, code_ok=True)
        assert r.allowed, n
        if r.state.retry_at is not None:
            waits.append((r.state.retry_at - frozen_clock.now).total_seconds())
            frozen_clock.advance(seconds=waits[-1])
    assert waits == [30, 60, 120, 240, 480, 900, 900, 900, 900]


def test_reserve_forgets_a_day_old_series(db, settings, frozen_clock):
    k = key("ivanov", settings)
    for _ in range(9):
        throttle.record_failure(db, k)
    frozen_clock.advance(hours=24, seconds=1)
    r = throttle.reserve(db, k)
    assert r.allowed and r.state == throttle.ThrottleState(False, None, 1)


@pytest.mark.parametrize("code_ok", [False, True])
def test_racing_reservations_never_pass_the_rule(db, settings, new_session, frozen_clock, code_ok):
    """20 requests reserve at the same moment, each in its own session: without
    a code exactly 5 may be checked; with right codes (the wait is what holds
    then) also exactly 5 — the 5th starts the wait."""
    k = key("ivanov", settings)
    threads_count = 20
    barrier = threading.Barrier(threads_count)
    sessions = [new_session() for _ in range(threads_count)]
    results: list[throttle.Reservation] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def attempt(session) -> None:
        try:
            barrier.wait(timeout=10)
            r = throttle.reserve(session, k, code_ok=code_ok)
            session.commit()
            with lock:
                results.append(r)
        except BaseException as exc:  # noqa: BLE001 - reported below
            session.rollback()
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    allowed = sorted(r.state.failures for r in results if r.allowed)
    assert allowed == [1, 2, 3, 4, 5]
    assert {r.refusal for r in results if not r.allowed} <= {"wait", "captcha"}
    assert throttle.check(db, k).failures == 5
