"""Text from outside: one bound on raw input, one notion of a control character.

A *control character* here is C0 (U+0000–U+001F), DEL and C1 (U+007F–U+009F,
NEL U+0085 among them) or a Unicode line or paragraph separator (U+2028,
U+2029): each can break a line, a header, a letter or a log record, and
PostgreSQL refuses NUL in text columns.
"""

from __future__ import annotations

import re

#: Raw input (a form field, a typed login or address) longer than this is cut
#: or ignored before any work is done on it; no field of the cabinet needs more.
MAX_INPUT = 1024

_CHARS = r"[\x00-\x1f\x7f-\x9f\u2028\u2029]"
_CONTROL = re.compile(_CHARS)
_CONTROL_RUN = re.compile(_CHARS + "+")


def contains_control(value: str) -> bool:
    """True when ``value`` holds a control character."""
    return _CONTROL.search(value) is not None


def clean(value: object, limit: int | None = None, *, replacement: str = " ",
          collapse: bool = False) -> str:
    """``value`` with every control character replaced by ``replacement`` (with
    ``collapse``: every run of them by one), at most ``limit`` characters long;
    ``""`` for anything but a string.

    With a ``limit`` only the first ``2 × limit`` characters are looked at, so
    a huge value costs no more than a long one.
    """
    if not isinstance(value, str):
        return ""
    pattern = _CONTROL_RUN if collapse else _CONTROL
    if limit is None:
        return pattern.sub(replacement, value)
    return pattern.sub(replacement, value[: limit * 2])[:limit]


def escape_control(value: str) -> str:
    """``value`` with every control character written as ``\\xNN`` (``\\x2028``
    for U+2028): visible, and never a line break."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", value)
