"""A failed event handler: one log line without secrets, and the Russian
message as state the page renders (no eval, which the CSP forbids)."""

from __future__ import annotations

import logging
import sqlite3

import pytest
import sqlalchemy as sa

import lkk_app.lkk_app as app_module
from lkk_app.i18n import t
from lkk_app.auth import validation
from lkk_app.core.errors import FieldErrors
from lkk_app.state.errors import ErrorBanner, describe, handle_backend_error
from tests.statekit import make_state

SECRET = "Секретный-пароль-42"


def _locked() -> sa.exc.OperationalError:
    """What SQLAlchemy raises when the SQLite database stays locked."""
    try:
        raise sa.exc.OperationalError(
            "UPDATE lkk_captcha SET used_at=? WHERE answer_hash=?", (SECRET, "hash-of-" + SECRET),
            sqlite3.OperationalError("database is locked"))
    except sa.exc.OperationalError as exc:
        return exc


def test_the_app_uses_the_handler():
    assert app_module.app.backend_exception_handler is handle_backend_error
    app_module.app._validate_exception_handlers()  # Reflex accepts its signature


def test_one_log_line_without_sql_parameters_or_input(caplog):
    caplog.set_level(logging.ERROR, logger="lkk.errors")
    event = handle_backend_error(_locked())
    (record,) = [r for r in caplog.records if r.name == "lkk.errors"]
    line = record.getMessage()
    assert "\n" not in line
    assert line == "event handler failed: OperationalError (database is locked)"
    assert SECRET not in line and "UPDATE" not in line
    assert record.exc_info is None  # no traceback
    assert event.handler.fn is ErrorBanner.show.fn


def test_a_handler_that_lets_signed_out_through_leads_to_the_login_window(caplog):
    from lkk_app.state.base import SignedOut
    from tests.statekit import redirects

    caplog.set_level(logging.ERROR, logger="lkk.errors")
    assert redirects([handle_backend_error(SignedOut())]) == ["/?expired=1"]
    assert redirects([handle_backend_error(SignedOut(restricted=True))]) == ["/change-password"]
    assert not [r for r in caplog.records if r.name == "lkk.errors"]  # not a failure


def test_the_message_of_an_arbitrary_exception_is_not_logged():
    try:
        int(SECRET)
    except ValueError as exc:
        text = describe(exc)
    assert text.startswith("ValueError") and SECRET not in text


def test_the_place_in_the_app_is_logged():
    with pytest.raises(FieldErrors) as info:
        validation.normalize_phone(SECRET)
    text = describe(info.value)
    assert text.startswith("FieldErrors at lkk_app/auth/validation.py:")
    assert text.endswith("in normalize_phone") and SECRET not in text


def test_the_banner_shows_the_russian_message_on_its_page_only():
    banner = make_state(ErrorBanner, "/register")
    banner.show()
    assert banner.message == t("error.handler_failed")
    assert banner.message.startswith("Не удалось выполнить действие")
    assert banner.path == "/register"
    banner.dismiss()
    assert (banner.message, banner.path) == ("", "")
