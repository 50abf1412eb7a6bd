"""Logging of the cabinet's own events (logger ``lkk`` and its children), and
the redaction of secrets in every log record of the process.

Every line is one line: CR, LF and other control characters in a message (a
login typed by an attacker, say) are escaped, so log lines cannot be forged.

Reflex writes whole events, handshake headers included, into its log when a
handler is unknown or fails: :func:`install_log_redaction` masks cookie
headers, the session cookies and password-like fields in every record, Reflex's
included (SECURITY.md, "Log redaction").
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

from lkk_app.core.text import escape_control
from lkk_app.settings import Settings, get_settings

_SECRET_KEYS = r"cookie|authorization|password|current_password|new_password|password_confirm|code"  # noqa: S105 - key names
_QUOTED_VALUE = r"""(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
_KEYED_SECRET_RE = re.compile(
    r"""(?P<key>['"](?:""" + _SECRET_KEYS + r""")['"]\s*:\s*)""" + _QUOTED_VALUE, re.I)


class SingleLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return escape_control(text)


def redact(text: str, cookie_names: Iterable[str]) -> str:
    text = _KEYED_SECRET_RE.sub(lambda m: m.group("key") + "'[redacted]'", text)
    for name in cookie_names:
        text = re.sub(re.escape(name) + r"=[^;,\s'\"]+", name + "=[redacted]", text)
    return text


_redaction_installed = False


def install_log_redaction(settings: Settings | None = None) -> None:
    """Mask secrets in every log record this process makes (idempotent)."""
    global _redaction_installed
    if _redaction_installed:
        return
    _redaction_installed = True
    from lkk_app.auth.confirmation import TICKET_COOKIE

    names = [(settings or get_settings()).session_cookie_name, TICKET_COOKIE]
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is the caller's problem
            return record
        cleaned = redact(message, names)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return record

    logging.setLogRecordFactory(factory)


class _LkkHandler(logging.StreamHandler):
    """The handler :func:`setup_logging` installs (so that a second call adds none)."""


def setup_logging(level: int = logging.INFO) -> None:
    install_log_redaction()
    logger = logging.getLogger("lkk")
    if any(isinstance(h, _LkkHandler) for h in logger.handlers):
        return
    handler = _LkkHandler(sys.stderr)
    handler.setFormatter(SingleLineFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
