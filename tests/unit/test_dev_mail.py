"""The development mailbox page /dev/mail (never in production)."""

from __future__ import annotations

import asyncio
import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from lkk_app.settings import reload_settings


def _client(peer: str = "127.0.0.1"):
    from lkk_app.web.http import build_http_app

    return TestClient(build_http_app(), client=(peer, 50000))


def test_dev_mail_lists_letters_with_clickable_links(db, settings, monkeypatch, tmp_path):
    from lkk_app.auth import users
    from lkk_app.jobs.worker import OutboxWorker
    from lkk_app.mail import outbox

    monkeypatch.setenv("LKK_MAIL_DIR", str(tmp_path / "mail"))
    monkeypatch.setenv("LKK_SECRET_KEY", "x" * 40)
    s = reload_settings()
    assert s.smtp_host == ""
    outbox.enqueue(db, kind="notice", template="password_changed", recipient="a<b>@example.com",
                   params={"login": "<script>x</script>"}, settings=s)
    user = users.create_user(db, login="Lebedev", email="lebedev@example.com",
                             password="Синий трактор 77", settings=settings)
    outbox.queue_confirmation(db, user)
    db.commit()
    worker = OutboxWorker(s, engine=db.get_bind())
    assert asyncio.run(worker.run_once()) == 2
    page = _client().get("/dev/mail")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "Почтовый ящик разработчика" in page.text
    assert "<script>x</script>" not in page.text and "&lt;script&gt;" in page.text
    assert '<a href="http://localhost:3000/confirm/' in page.text
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 2


def test_dev_mail_is_absent_in_production(monkeypatch):
    monkeypatch.setenv("LKK_ENV", "production")
    monkeypatch.setenv("LKK_SECRET_KEY", "q7Vb2-Lx9_RwT4mZ8cKp1sN6hY3dJ0fG5aE")
    monkeypatch.setenv("LKK_PUBLIC_URL", "https://lkk.example.ru")
    monkeypatch.setenv("LKK_SMTP_HOST", "smtp.example.ru")
    monkeypatch.setenv("LKK_BILLING_ADAPTER", "demo")
    reload_settings()
    assert _client().get("/dev/mail").status_code == 404


@pytest.mark.parametrize("peer", ["127.0.0.1", "127.0.0.9", "::1"])
def test_dev_mail_answers_loopback(peer):
    r = _client(peer).get("/dev/mail")
    assert r.status_code == 200 and "Почтовый ящик разработчика" in r.text


@pytest.mark.parametrize("peer,headers", [
    ("192.168.1.20", {}),            # another computer of the office network
    ("10.0.0.5", {}),
    ("2001:db8::7", {}),
    ("testclient", {}),              # not an address at all
    # A proxy or tunnel on this computer forwarding someone else's request.
    ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}),
    ("127.0.0.1", {"X-Forwarded-For": "127.0.0.1, 203.0.113.9"}),
    ("127.0.0.1", {"X-Real-IP": "203.0.113.9"}),
    ("127.0.0.1", {"Forwarded": "for=203.0.113.9;proto=https"}),
])
def test_dev_mail_refuses_requests_not_from_this_computer(peer, headers):
    """The letters hold confirmation links and temporary passwords: a development
    server reachable from the network (HOST=0.0.0.0) must not show them."""
    from lkk_app.i18n import t

    r = _client(peer).get("/dev/mail", headers=headers)
    assert r.status_code == 403
    assert r.text == t("dev_mail.loopback_only")
    assert r.headers["cache-control"] == "no-store"


@pytest.fixture
def fresh_pace(monkeypatch):
    """The demo mailbox's pace starts full for each test."""
    from lkk_app.core.token_bucket import TokenBucket
    from lkk_app.web.http import dev_mail

    monkeypatch.setattr(dev_mail, "_DEMO_CLIENTS", {})
    monkeypatch.setattr(dev_mail, "_DEMO_PACE", TokenBucket(rate=10, burst=20))


def _demo_production(monkeypatch, tmp_path, smtp: str = "") -> None:
    monkeypatch.setenv("LKK_ENV", "production")
    monkeypatch.setenv("LKK_SECRET_KEY", "q7Vb2-Lx9_RwT4mZ8cKp1sN6hY3dJ0fG5aE")
    monkeypatch.setenv("LKK_PUBLIC_URL", "https://demo.lkk.example.ru")
    monkeypatch.setenv("LKK_BILLING_ADAPTER", "demo")
    monkeypatch.setenv("LKK_DEMO", "1")
    monkeypatch.setenv("LKK_MAIL_DIR", str(tmp_path / "mail"))
    monkeypatch.setenv("LKK_SMTP_HOST", smtp)


def test_a_demo_without_smtp_shows_each_address_its_own_letters(db, monkeypatch, tmp_path, fresh_pace):
    from lkk_app.jobs.worker import OutboxWorker
    from lkk_app.mail import outbox

    _demo_production(monkeypatch, tmp_path)
    s = reload_settings()  # production, yet no SMTP server: a demo may
    assert s.is_production and s.demo_mailbox
    for login, to in (("Visitor", "visitor@example.org"), ("Other", "other@example.org")):
        outbox.enqueue(db, kind="notice", template="password_changed", recipient=to,
                       params={"login": login}, settings=s)
    db.commit()
    assert asyncio.run(OutboxWorker(s, engine=db.get_bind()).run_once()) == 2
    # From anywhere (a public demo), but only by naming the address.
    visitor = _client("203.0.113.5")
    empty = visitor.get("/demo/mail")
    assert empty.status_code == 200 and "Почта демонстрационной версии" in empty.text
    assert "Visitor" not in empty.text and "Other" not in empty.text
    page = visitor.get("/demo/mail", params={"to": " Visitor@Example.org "})
    assert page.headers["cache-control"] == "no-store"
    assert "«Visitor»" in page.text and "«Other»" not in page.text
    assert "Писем на этот адрес нет." in visitor.get("/demo/mail", params={"to": "nobody@example.org"}).text
    # A part of an address finds nothing.
    assert "«Visitor»" not in visitor.get("/demo/mail", params={"to": "example.org"}).text
    assert visitor.get("/dev/mail").status_code == 404  # the whole mailbox stays closed


def test_the_demo_mailbox_is_absent_with_an_smtp_server_or_without_demo(monkeypatch, tmp_path):
    from lkk_app.settings import SettingsError

    _demo_production(monkeypatch, tmp_path, smtp="smtp.example.ru")
    reload_settings()
    assert _client().get("/demo/mail").status_code == 404
    monkeypatch.setenv("LKK_DEMO", "0")
    monkeypatch.setenv("LKK_SMTP_HOST", "")
    with pytest.raises(SettingsError, match="LKK_SMTP_HOST is required"):
        reload_settings()


def test_the_demo_mailbox_is_paced_per_client(monkeypatch, tmp_path, fresh_pace):
    _demo_production(monkeypatch, tmp_path)
    reload_settings()
    eager = _client("203.0.113.7")
    answers = [eager.get("/demo/mail", params={"to": "a@example.org"}).status_code for _ in range(8)]
    assert answers[:5] == [200] * 5 and 503 in answers[5:]
    assert _client("203.0.113.8").get("/demo/mail").status_code == 200  # another client is not held up
