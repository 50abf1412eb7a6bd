"""New authorization codes per connection and per IP (``auth/captcha_limits.py``)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import pytest
from sqlmodel import func, select

from lkk_app.models import CaptchaChallenge
from lkk_app.auth import captcha, captcha_limits, captcha_image, ratelimit
from lkk_app.auth.captcha_limits import PER_CONNECTION, ConnectionWindow
from lkk_app.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def _fresh_connections():
    captcha_limits.connections.clear()
    yield
    captcha_limits.connections.clear()


@pytest.fixture
def drawings(monkeypatch):
    """Counts the images actually drawn."""
    calls = []
    real = captcha_image.draw
    monkeypatch.setattr(captcha_image, "draw", lambda code: calls.append(code) or real(code))
    return calls


def challenges(db) -> int:
    return db.exec(select(func.count()).select_from(CaptchaChallenge)).one()


def test_documented_limits():
    assert PER_CONNECTION == (15, timedelta(minutes=10))
    assert ratelimit.CAPTCHA_PER_IP == (30, timedelta(minutes=10))


def test_per_connection_fifteen_per_ten_minutes(db, settings, frozen_clock, drawings, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(captcha_limits, "connections",
                        ConnectionWindow(PER_CONNECTION, clock=lambda: clock[0]))
    issued = [captcha_limits.issue(db, connection="tab-1", ip="198.51.100.1", settings=settings)
              for _ in range(20)]
    assert sum(i is not None for i in issued) == 15
    assert issued[15:] == [None] * 5
    assert len(drawings) == 15 and challenges(db) == 15  # refused: nothing drawn or stored
    # Another tab of the same IP still gets codes (up to the IP's 30).
    assert captcha_limits.issue(db, connection="tab-2", ip="198.51.100.1", settings=settings)
    clock[0] += 600
    assert captcha_limits.issue(db, connection="tab-1", ip="198.51.100.1", settings=settings)


def test_per_ip_thirty_per_ten_minutes_across_connections(db, settings, frozen_clock, drawings):
    results = [captcha_limits.issue(db, connection=f"tab-{i}", ip="203.0.113.4", settings=settings)
               for i in range(40)]
    db.commit()
    assert sum(r is not None for r in results) == 30
    assert len(drawings) == 30
    # Reconnecting does not help; another IP is not affected.
    assert captcha_limits.issue(db, connection="fresh", ip="203.0.113.4", settings=settings) is None
    assert captcha_limits.issue(db, connection="fresh", ip="203.0.113.5", settings=settings)
    # Ten minutes later the IP has codes again.
    frozen_clock.advance(minutes=10)
    assert captcha_limits.issue(db, connection="fresh", ip="203.0.113.4", settings=settings)


def test_issued_challenge_is_a_normal_one(db, make_settings, frozen_clock):
    fixed = make_settings(captcha_fixed_code="735190")
    challenge_id, png = captcha_limits.issue(db, connection="t", ip="192.0.2.1", settings=fixed)
    db.commit()
    assert png.startswith(b"\x89PNG")
    assert captcha.verify(db, challenge_id, "735190", settings=fixed)


def test_exempt_ips_are_not_counted(db, settings, frozen_clock):
    exempt = dataclasses.replace(settings, rate_exempt_ips=("127.0.0.1",))
    results = [captcha_limits.issue(db, connection="one", ip="127.0.0.1", settings=exempt)
               for _ in range(35)]
    assert all(r is not None for r in results)
    # Only the listed address.
    assert sum(captcha_limits.issue(db, connection="two", ip="127.0.0.2", settings=exempt)
               is not None for _ in range(16)) == 15


def test_racing_requests_of_one_ip_never_exceed_thirty(engine, new_session, settings, frozen_clock):
    threads_count = 40
    barrier = threading.Barrier(threads_count)
    results: list[bool] = []
    lock = threading.Lock()
    sessions = [new_session() for _ in range(threads_count)]

    def run(i: int) -> None:
        session = sessions[i]
        barrier.wait(timeout=30)
        ok = captcha_limits.issue(session, connection=f"c{i}", ip="192.0.2.9",
                                  settings=settings) is not None
        session.commit()
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == threads_count and results.count(True) == 30


def test_connection_window_is_bounded():
    window = ConnectionWindow(ratelimit.Limit(2, timedelta(minutes=1)), max_keys=3)
    for key in "abcd":
        assert window.take(key)
    assert len(window._seen) == 3 and "a" not in window._seen
    assert window.take("b") and not window.take("b")
    window.give_back("b")
    assert window.take("b")


def test_exempt_ips_are_ignored_in_production(db, settings, frozen_clock):
    """Defence in depth: even a hand-built production Settings counts everyone."""
    prod = dataclasses.replace(settings, env="production", rate_exempt_ips=("127.0.0.1",))
    results = [captcha_limits.issue(db, connection=f"p{i}", ip="127.0.0.1", settings=prod)
               for i in range(31)]
    assert results[-1] is None and all(r is not None for r in results[:30])


def test_exempt_ips_setting(tmp_path):
    s = load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_RATE_EXEMPT_IPS": " 127.0.0.1, ::1 "})
    assert s.rate_exempt_ips == ("127.0.0.1", "::1")
    assert load_settings({"LKK_DATA_DIR": str(tmp_path)}).rate_exempt_ips == ()
    with pytest.raises(SettingsError, match="LKK_RATE_EXEMPT_IPS"):
        load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_RATE_EXEMPT_IPS": "localhost"})
    production = {"LKK_ENV": "production", "LKK_SECRET_KEY": "k" * 40,
                  "LKK_PUBLIC_URL": "https://lkk.example.ru", "LKK_DATA_DIR": str(tmp_path),
                  "LKK_SMTP_HOST": "smtp.example.ru", "LKK_RATE_EXEMPT_IPS": "127.0.0.1"}
    with pytest.raises(SettingsError, match="LKK_RATE_EXEMPT_IPS"):
        load_settings(production)
