import logging

from lkk_app.logs import SingleLineFormatter


def test_log_lines_cannot_be_forged_with_newlines():
    record = logging.LogRecord("lkk.auth", logging.INFO, __file__, 1,
                               "login failed for %s", ("evil\r\n2026-01-01 INFO lkk.auth: login ok",), None)
    line = SingleLineFormatter("%(message)s").format(record)
    assert "\n" not in line and "\r" not in line
    assert line == "login failed for evil\\x0d\\x0a2026-01-01 INFO lkk.auth: login ok"
