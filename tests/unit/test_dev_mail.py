"""The development mailbox page /dev/mail (never in production)."""

from __future__ import annotations

import asyncio

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from lkk_app.settings import reload_settings


def _client():
    from lkk_app.http_routes import build_http_app

    return TestClient(build_http_app())


def test_dev_mail_lists_letters_with_clickable_links(db, settings, monkeypatch, tmp_path):
    from lkk_app.services import outbox, registration, users

    monkeypatch.setenv("LKK_MAIL_DIR", str(tmp_path / "mail"))
    monkeypatch.setenv("LKK_SECRET_KEY", "x" * 40)
    s = reload_settings()
    assert s.smtp_host == ""
    outbox.enqueue(db, kind="notice", template="password_changed", recipient="a<b>@example.com",
                   params={"login": "<script>x</script>"}, settings=s)
    user = users.create_user(db, login="Lebedev", email="lebedev@example.com",
                             password="Синий трактор 77", settings=settings)
    registration.queue_confirmation(db, user)
    db.commit()
    worker = outbox.OutboxWorker(s, engine=db.get_bind())
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
    monkeypatch.setenv("LKK_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("LKK_PUBLIC_URL", "https://lkk.example.ru")
    monkeypatch.setenv("LKK_SMTP_HOST", "smtp.example.ru")
    monkeypatch.setenv("LKK_BILLING_ADAPTER", "demo")
    reload_settings()
    assert _client().get("/dev/mail").status_code == 404
