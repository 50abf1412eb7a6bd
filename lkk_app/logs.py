"""Logging of the cabinet's own events (logger ``lkk`` and its children).

Every line is one line: CR, LF and other control characters in a message (a
login typed by an attacker, say) are escaped, so log lines cannot be forged.
"""

from __future__ import annotations

import logging
import sys

from lkk_app.core.text import escape_control


class SingleLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return escape_control(text)


def setup_logging(level: int = logging.INFO) -> None:
    logger = logging.getLogger("lkk")
    if any(getattr(h, "_lkk", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SingleLineFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._lkk = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
