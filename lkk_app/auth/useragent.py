"""A small, dependency-free reading of a ``User-Agent`` header for «Сеансы».

:func:`describe` turns the header stored with a session into plain Russian:
«Chrome, Windows», «Safari, iPhone», «Firefox, Linux» — or «Неизвестное
устройство» when nothing is recognised.  Only the browser family and the
operating system are named (no versions): the user must recognise the device,
not audit it.  The header is chosen by the client, so it is treated as
untrusted text: only substring tests, no regular expressions that could
backtrack, and the result is always one of a fixed set of names.
"""

from __future__ import annotations

UNKNOWN_DEVICE = "Неизвестное устройство"
UNKNOWN_BROWSER = "Неизвестный браузер"
# The stored header is at most 512 characters (lkk_app/auth/sessions.py).
MAX_LENGTH = 1024

# (markers, name): the first entry with a marker found in the header wins, so
# browsers built on Chrome or Safari come before them.
_BROWSERS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("YaBrowser/", "YaSearchBrowser/"), "Яндекс Браузер"),
    (("SamsungBrowser/",), "Samsung Internet"),
    (("Edg/", "EdgA/", "EdgiOS/", "Edge/"), "Edge"),
    (("OPR/", "OPiOS/", "OPT/", "Opera"), "Opera"),
    (("Firefox/", "FxiOS/"), "Firefox"),
    (("HeadlessChrome/", "Chromium/", "CriOS/", "Chrome/"), "Chrome"),
    (("MSIE ", "Trident/"), "Internet Explorer"),
)

# Checked in this order: phones and tablets before the desktop systems whose
# names their headers also contain ("like Mac OS X", "Linux; Android").
_SYSTEMS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("Windows Phone",), "Windows Phone"),
    (("iPhone",), "iPhone"),
    (("iPad",), "iPad"),
    (("iPod",), "iPod"),
    (("Android",), "Android"),
    (("CrOS",), "ChromeOS"),
    (("Windows",), "Windows"),
    (("Macintosh", "Mac OS X"), "macOS"),
    (("Linux", "X11"), "Linux"),
)


def _first(header: str, table: tuple[tuple[tuple[str, ...], str], ...]) -> str:
    for markers, name in table:
        if any(marker in header for marker in markers):
            return name
    return ""


def browser_name(header: object) -> str:
    """The browser family, or ``""`` when not recognised."""
    if not isinstance(header, str):
        return ""
    header = header[:MAX_LENGTH]
    name = _first(header, _BROWSERS)
    if name:
        return name
    # Safari names itself only as "Safari/" (and "Version/"); so does every
    # WebKit browser, hence last, and only with Apple's "Version/" marker or
    # on an Apple device.
    if "Safari/" in header and ("Version/" in header or "Mobile/" in header):
        return "Safari"
    if "AppleWebKit/" in header and ("iPhone" in header or "iPad" in header):
        return "Safari"
    return ""


def system_name(header: object) -> str:
    """The operating system or device, or ``""`` when not recognised."""
    if not isinstance(header, str):
        return ""
    return _first(header[:MAX_LENGTH], _SYSTEMS)


def describe(header: object) -> str:
    """«Браузер, система» in plain Russian for a stored ``User-Agent`` header."""
    browser = browser_name(header)
    system = system_name(header)
    if browser and system:
        return f"{browser}, {system}"
    if browser:
        return browser
    if system:
        return f"{UNKNOWN_BROWSER}, {system}"
    return UNKNOWN_DEVICE


__all__ = ["UNKNOWN_DEVICE", "browser_name", "describe", "system_name"]
