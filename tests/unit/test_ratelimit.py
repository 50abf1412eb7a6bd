"""Sliding-window rate limits (SECURITY.md); SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import func, select

from lkk_app.models import RateEvent
from lkk_app.auth import ratelimit
from lkk_app.auth.ratelimit import (
    LOGIN_FAILS_PER_IP,
    RECOVERY_PER_ACCOUNT,
    RECOVERY_PER_IP,
    RESEND_CONFIRMATION,
)

HOUR = timedelta(hours=1)


def total_rows(db) -> int:
    return db.exec(select(func.count()).select_from(RateEvent)).one()


# --------------------------------------------------------------------------- hit / count


def test_documented_limits():
    assert RESEND_CONFIRMATION == ((1, timedelta(minutes=2)), (5, timedelta(days=1)))
    assert RECOVERY_PER_ACCOUNT == (3, HOUR)
    assert RECOVERY_PER_IP == (10, HOUR)
    assert LOGIN_FAILS_PER_IP == (30, timedelta(minutes=10))


def test_hit_until_the_limit(db, frozen_clock):
    results = [ratelimit.hit(db, "test:a", limit=3, window=HOUR) for _ in range(5)]
    db.commit()
    assert results == [True, True, True, False, False]
    assert ratelimit.count(db, "test:a", HOUR) == 3


def test_refused_hits_are_not_recorded(db, frozen_clock):
    for _ in range(3):
        ratelimit.hit(db, "test:a", limit=3, window=HOUR)
    for _ in range(10):
        assert ratelimit.hit(db, "test:a", limit=3, window=HOUR) is False
    db.commit()
    assert total_rows(db) == 3
    # So the budget comes back exactly one window after the first hits.
    frozen_clock.advance(hours=1)
    assert ratelimit.hit(db, "test:a", limit=3, window=HOUR) is True


def test_window_slides(db, frozen_clock):
    window = timedelta(minutes=2)
    assert ratelimit.hit(db, "test:slide", limit=1, window=window) is True
    frozen_clock.advance(minutes=1, seconds=59)
    assert ratelimit.hit(db, "test:slide", limit=1, window=window) is False
    frozen_clock.advance(seconds=1)
    assert ratelimit.count(db, "test:slide", window) == 0
    assert ratelimit.hit(db, "test:slide", limit=1, window=window) is True
    assert ratelimit.count(db, "test:slide", window) == 1
    assert ratelimit.count(db, "test:slide", timedelta(minutes=3)) == 2


def test_sliding_not_fixed_window(db, frozen_clock):
    """Events leave the window one by one, not all at a fixed boundary."""
    for _ in range(2):
        assert ratelimit.hit(db, "test:s", limit=3, window=HOUR)
        frozen_clock.advance(minutes=20)
    assert ratelimit.hit(db, "test:s", limit=3, window=HOUR)  # t=40 min
    frozen_clock.advance(minutes=19)  # t=59 min: all three in the window
    assert not ratelimit.hit(db, "test:s", limit=3, window=HOUR)
    frozen_clock.advance(minutes=1)  # t=60 min: the first left
    assert ratelimit.hit(db, "test:s", limit=3, window=HOUR)
    assert not ratelimit.hit(db, "test:s", limit=3, window=HOUR)


def test_buckets_are_independent(db, frozen_clock):
    assert ratelimit.hit(db, ratelimit.resend_bucket(1), limit=1, window=HOUR)
    assert ratelimit.hit(db, ratelimit.resend_bucket(2), limit=1, window=HOUR)
    assert not ratelimit.hit(db, ratelimit.resend_bucket(1), limit=1, window=HOUR)


def test_zero_limit_refuses_without_recording(db):
    assert ratelimit.hit(db, "test:z", limit=0, window=HOUR) is False
    assert total_rows(db) == 0


def test_record_and_is_limited_for_failures(db, frozen_clock):
    bucket, limit, window = ratelimit.login_fail_ip_rule("203.0.113.9")
    assert (limit, window) == (30, timedelta(minutes=10))
    for _ in range(29):
        ratelimit.record(db, bucket)
    assert not ratelimit.is_limited(db, bucket, limit=limit, window=window)
    ratelimit.record(db, bucket)
    assert ratelimit.is_limited(db, bucket, limit=limit, window=window)
    frozen_clock.advance(minutes=10)
    assert not ratelimit.is_limited(db, bucket, limit=limit, window=window)


# --------------------------------------------------------------------------- allow_all


def test_allow_all_records_nothing_when_one_rule_refuses(db, frozen_clock):
    assert ratelimit.hit(db, "test:full", limit=1, window=HOUR)
    rules = [("test:free", 5, HOUR), ("test:full", 1, HOUR)]
    for _ in range(3):
        assert ratelimit.allow_all(db, rules) is False
    assert ratelimit.count(db, "test:free", HOUR) == 0
    assert ratelimit.count(db, "test:full", HOUR) == 1
    # In the other order too.
    assert ratelimit.allow_all(db, list(reversed(rules))) is False
    assert ratelimit.count(db, "test:free", HOUR) == 0


def test_allow_all_records_every_bucket_when_allowed(db, frozen_clock):
    rules = [("test:x", 2, HOUR), ("test:y", 2, HOUR)]
    assert ratelimit.allow_all(db, rules)
    assert ratelimit.allow_all(db, rules)
    assert not ratelimit.allow_all(db, rules)
    assert ratelimit.count(db, "test:x", HOUR) == ratelimit.count(db, "test:y", HOUR) == 2
    assert ratelimit.allow_all(db, []) is True


def test_resend_confirmation_rules(db, frozen_clock):
    """1 per 2 minutes and 5 per day, in one bucket: one row per allowed request."""
    rules = ratelimit.resend_confirmation_rules(42)
    assert [r[0] for r in rules] == ["resend:user:42", "resend:user:42"]
    start = frozen_clock.now
    allowed = []
    for _ in range(12):  # every minute
        allowed.append(ratelimit.allow_all(db, rules))
        frozen_clock.advance(minutes=1)
    assert allowed == [True, False] * 5 + [False, False]
    assert ratelimit.count(db, "resend:user:42", timedelta(days=1)) == 5
    frozen_clock.now = start + timedelta(days=1)
    assert ratelimit.allow_all(db, rules) is True


def test_recovery_rules(db, frozen_clock):
    ip = "198.51.100.20"
    # Per account: 3 per hour.
    assert [ratelimit.allow_all(db, ratelimit.recovery_rules(account=7, ip=ip)) for _ in range(4)] == [
        True, True, True, False,
    ]
    # Per IP: 10 per hour, across accounts (3 used above).
    results = [
        ratelimit.allow_all(db, ratelimit.recovery_rules(account=f"user{i}", ip=ip)) for i in range(8)
    ]
    assert results == [True] * 7 + [False]
    assert ratelimit.count(db, ratelimit.recovery_ip_bucket(ip), HOUR) == 10
    # A refused request spent nothing in the account bucket.
    assert ratelimit.count(db, ratelimit.recovery_account_bucket("user7"), HOUR) == 0


# --------------------------------------------------------------------------- names


def test_plain_bucket_names_are_kept():
    assert ratelimit.bucket_name("resend", "user", 42) == "resend:user:42"
    assert ratelimit.recovery_ip_bucket("1.2.3.4") == "recover:ip:1.2.3.4"
    assert ratelimit.login_fail_ip_bucket("1.2.3.4") == "login-fail:ip:1.2.3.4"


@pytest.mark.parametrize(
    "key",
    ["x" * 500, "иван@пример.рф", "with space", "tab\there", "a\x00b", "e" * 120 + "@example.com"],
)
def test_long_or_odd_keys_are_hashed(db, frozen_clock, key):
    name = ratelimit.bucket_name("recover", "account", key)
    assert len(name) <= 128
    assert name.startswith("recover:account:#")
    assert name == ratelimit.bucket_name("recover", "account", key)  # deterministic
    assert name != ratelimit.bucket_name("recover", "account", key + "1")
    assert ratelimit.bucket_name(name) == name  # idempotent
    # The raw long key works as a bucket; it is stored hashed.
    raw = f"recover:account:{key}"
    assert ratelimit.hit(db, raw, limit=1, window=HOUR)
    assert not ratelimit.hit(db, raw, limit=1, window=HOUR)
    db.commit()  # PostgreSQL would refuse a NUL or an over-long value
    assert ratelimit.count(db, raw, HOUR) == 1
    stored = db.exec(select(RateEvent.bucket)).all()
    assert stored == [name]


def test_bucket_without_plain_prefix_is_fully_hashed():
    name = ratelimit.bucket_name("ключ " * 40)
    assert name.startswith("#") and len(name) == 65


def test_empty_bucket_is_an_error(db):
    with pytest.raises(ValueError):
        ratelimit.hit(db, "", limit=1, window=HOUR)


@pytest.mark.parametrize(
    "ip,key",
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("", "unknown"),
        (None, "unknown"),
        ("not an ip", "unknown"),
    ],
)
def test_ip_key(ip, key):
    assert ratelimit.ip_key(ip) == key


# --------------------------------------------------------------------------- purge


def test_purge(db, frozen_clock):
    ratelimit.hit(db, "test:old", limit=10, window=HOUR)
    frozen_clock.advance(days=1)
    ratelimit.hit(db, "test:new", limit=10, window=HOUR)
    frozen_clock.advance(days=1)
    db.commit()
    assert ratelimit.purge(db) == 0  # default keeps two days
    frozen_clock.advance(seconds=1)
    assert ratelimit.purge(db) == 1
    assert ratelimit.purge(db, timedelta(hours=1)) == 1
    assert total_rows(db) == 0


# --------------------------------------------------------------------------- concurrency


def test_racing_hits_never_exceed_the_limit(db, new_session, frozen_clock):
    threads_count, limit = 10, 3
    barrier = threading.Barrier(threads_count)
    results: list[bool] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    sessions = [new_session() for _ in range(threads_count)]

    def attempt(session) -> None:
        try:
            barrier.wait(timeout=30)
            ok = ratelimit.allow_all(
                session, [("test:race", limit, HOUR), ("test:race-other", 100, HOUR)]
            )
            session.commit()
            with lock:
                results.append(ok)
        except BaseException as exc:  # pragma: no cover - reported below
            session.rollback()
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(results) == threads_count
    assert results.count(True) == limit
    db.expire_all()
    assert ratelimit.count(db, "test:race", HOUR) == limit
    assert ratelimit.count(db, "test:race-other", HOUR) == limit
