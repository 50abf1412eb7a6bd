"""Per-login-name throttling of failed logins (docs/security.md); SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from lkk_app.models import LoginThrottle
from lkk_app.services import throttle, users

PASSWORD = "Синий трактор 77"


def fail(db, login, times=1, settings=None):
    state = None
    for _ in range(times):
        state = throttle.record_failure(db, login, settings=settings)
    db.commit()
    return state


def test_documented_numbers():
    assert throttle.THRESHOLD == 5
    assert throttle.BASE_DELAY == timedelta(seconds=30)
    assert throttle.MAX_DELAY == timedelta(minutes=15)


def test_a_fresh_login_is_not_throttled(db, settings, frozen_clock):
    state = throttle.check(db, "ivanov", settings=settings)
    assert state == throttle.ThrottleState(needs_captcha=False, retry_at=None, failures=0)
    assert not state.waiting()


def test_four_failures_change_nothing(db, settings, frozen_clock):
    state = fail(db, "ivanov", 4, settings)
    assert state.failures == 4 and state.needs_captcha is False and state.retry_at is None
    assert throttle.check(db, "ivanov", settings=settings) == state


def test_fifth_failure_needs_the_code_and_waits_30_seconds(db, settings, frozen_clock):
    fail(db, "ivanov", 4, settings)
    state = fail(db, "ivanov", 1, settings)
    assert state.needs_captcha is True
    assert state.retry_at == frozen_clock.now + timedelta(seconds=30)
    assert throttle.check(db, "ivanov", settings=settings) == state
    frozen_clock.advance(seconds=29)
    assert throttle.check(db, "ivanov", settings=settings).waiting()
    frozen_clock.advance(seconds=1)
    # The wait is over, the code is still needed.
    after = throttle.check(db, "ivanov", settings=settings)
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
    state = throttle.check(db, "ivanov", settings=settings)
    assert state.retry_at is None and state.needs_captcha is True


def test_success_resets(db, settings, frozen_clock):
    fail(db, "ivanov", 7, settings)
    throttle.reset(db, "ivanov", settings=settings)
    db.commit()
    assert throttle.check(db, "ivanov", settings=settings) == throttle.ThrottleState()
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
    assert throttle.check(db, "ivanov", settings=settings).failures == 5
    assert throttle.check(db, "petrov", settings=settings).failures == 0


def test_the_table_holds_no_login_in_clear(db, settings, frozen_clock):
    fail(db, "ivanov", 1, settings)
    row = db.exec(select(LoginThrottle)).one()
    assert "ivanov" not in row.key_hash
    assert len(row.key_hash) == 64
    assert row.key_hash == throttle.key_hash("IVANOV", settings=settings)
    # Keyed with the secret: another key gives another hash.
    import dataclasses
    other = dataclasses.replace(settings, secret_key=b"another-secret-key-0123456789-abcdef")
    assert throttle.key_hash("ivanov", settings=other) != row.key_hash


@pytest.mark.parametrize("odd", ["", "a\x00b", "x" * 100_000, "\ud800", "  "])
def test_any_input_has_a_key(db, settings, frozen_clock, odd):
    state = fail(db, odd, 5, settings)
    assert state.needs_captcha and throttle.check(db, odd, settings=settings).waiting()


def test_failures_older_than_a_day_are_forgotten(db, settings, frozen_clock):
    fail(db, "ivanov", 8, settings)
    frozen_clock.advance(hours=24, seconds=1)
    assert throttle.check(db, "ivanov", settings=settings) == throttle.ThrottleState()
    state = fail(db, "ivanov", 1, settings)
    assert state.failures == 1 and state.retry_at is None and not state.needs_captcha
    assert throttle.check(db, "ivanov", settings=settings).retry_at is None


def test_purge_deletes_only_forgotten_rows(db, settings, frozen_clock):
    fail(db, "old", 3, settings)
    frozen_clock.advance(hours=25)
    fail(db, "new", 3, settings)
    assert throttle.purge(db) == 1
    db.commit()
    assert throttle.check(db, "new", settings=settings).failures == 3


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
            state = throttle.record_failure(session, "ivanov", settings=settings)
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
    state = throttle.check(db, "ivanov", settings=settings)
    assert state.failures == earlier + threads_count
    # The wait belongs to the last count (12th failure: 30 s · 2^7 → capped 15 min).
    assert state.retry_at == frozen_clock.now + timedelta(minutes=15)
