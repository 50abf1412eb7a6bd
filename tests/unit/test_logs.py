import logging

from lkk_app.logs import SingleLineFormatter


def test_log_lines_cannot_be_forged_with_newlines():
    record = logging.LogRecord("lkk.auth", logging.INFO, __file__, 1,
                               "login failed for %s", ("evil\r\n2026-01-01 INFO lkk.auth: login ok",), None)
    line = SingleLineFormatter("%(message)s").format(record)
    assert "\n" not in line and "\r" not in line
    assert line == "login failed for evil\\x0d\\x0a2026-01-01 INFO lkk.auth: login ok"


def test_the_logging_set_up_masks_secrets_in_every_record(monkeypatch):
    """Reflex logs whole events (handshake headers, form data) when a handler
    is unknown or fails; the set-up installs the redaction for every logger."""
    from lkk_app import logs
    from lkk_app.settings import get_settings

    monkeypatch.setattr(logs, "_redaction_installed", False)
    monkeypatch.setattr(logging, "_logRecordFactory", logging.getLogRecordFactory())
    logs.setup_logging()
    cookie = get_settings().session_cookie_name
    event = {"headers": {"cookie": f"{cookie}=TOKEN123; lkk_pending=TICKET9"},
             "form_data": {"login": "ivan", "password": "hunter2", "code": "123456"}}
    record = logging.getLogger("reflex.state").makeRecord(
        "reflex.state", logging.ERROR, __file__, 1, "No registered handler: %s", (event,), None)
    text = record.getMessage()
    for secret in ("TOKEN123", "TICKET9", "hunter2", "123456"):
        assert secret not in text
    assert "'cookie': '[redacted]'" in text and "'login': 'ivan'" in text
    assert logs.redact(f"Cookie: {cookie}=abc; other=1", [cookie]) == (
        f"Cookie: {cookie}=[redacted]; other=1")
