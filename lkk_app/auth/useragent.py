"""A small, dependency-free reading of a ``User-Agent`` header for «Сеансы».

:func:`describe` turns the header stored with a session into plain Russian:
«Chrome, Windows», «Safari, iPhone», «Firefox, Linux» — or «Неизвестное
устройство» when nothing is recognised; the names come from the catalogue
(``device.*`` keys, ``lkk_app/i18n/profile.py``).  Only the browser family and the
operating system are named (no versions): the user must recognise the device,
not audit it.  The header is chosen by the client, so it is treated as
untrusted text: only substring tests, no regular expressions that could
backtrack, and the result is always one of a fixed set of names.
"""

from __future__ import annotations

from lkk_app.i18n import t

UNKNOWN_DEVICE = "device.unknown"
UNKNOWN_BROWSER = "device.unknown_browser"
# The stored header is at most 512 characters (lkk_app/auth/sessions.py).
MAX_LENGTH = 1024

# (markers, name's key): the first entry with a marker found in the header
# wins, so browsers built on Chrome or Safari come before them.
_BROWSERS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("YaBrowser/", "YaSearchBrowser/"), "device.browser.yandex"),
    (("SamsungBrowser/",), "device.browser.samsung"),
    (("Edg/", "EdgA/", "EdgiOS/", "Edge/"), "device.browser.edge"),
    (("OPR/", "OPiOS/", "OPT/", "Opera"), "device.browser.opera"),
    (("Firefox/", "FxiOS/"), "device.browser.firefox"),
    (("HeadlessChrome/", "Chromium/", "CriOS/", "Chrome/"), "device.browser.chrome"),
    (("MSIE ", "Trident/"), "device.browser.ie"),
)
_SAFARI = "device.browser.safari"

# Checked in this order: phones and tablets before the desktop systems whose
# names their headers also contain ("like Mac OS X", "Linux; Android").
_SYSTEMS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("Windows Phone",), "device.system.windows_phone"),
    (("iPhone",), "device.system.iphone"),
    (("iPad",), "device.system.ipad"),
    (("iPod",), "device.system.ipod"),
    (("Android",), "device.system.android"),
    (("CrOS",), "device.system.chromeos"),
    (("Windows",), "device.system.windows"),
    (("Macintosh", "Mac OS X"), "device.system.macos"),
    (("Linux", "X11"), "device.system.linux"),
)


def _first(header: str, table: tuple[tuple[tuple[str, ...], str], ...]) -> str:
    for markers, name in table:
        if any(marker in header for marker in markers):
            return name
    return ""


def browser_key(header: object) -> str:
    """The catalogue key of the browser family, or ``""`` when not recognised."""
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
        return _SAFARI
    if "AppleWebKit/" in header and ("iPhone" in header or "iPad" in header):
        return _SAFARI
    return ""


def system_key(header: object) -> str:
    """The catalogue key of the operating system or device, or ``""`` when not recognised."""
    if not isinstance(header, str):
        return ""
    return _first(header[:MAX_LENGTH], _SYSTEMS)


def browser_name(header: object) -> str:
    """The browser family, or ``""`` when not recognised."""
    key = browser_key(header)
    return t(key) if key else ""


def system_name(header: object) -> str:
    """The operating system or device, or ``""`` when not recognised."""
    key = system_key(header)
    return t(key) if key else ""


def describe(header: object) -> str:
    """«Браузер, система» in plain Russian for a stored ``User-Agent`` header."""
    browser = browser_key(header)
    system = system_key(header)
    if not system:
        return t(browser or UNKNOWN_DEVICE)
    return t("device.browser_system", browser=t(browser or UNKNOWN_BROWSER), system=t(system))


__all__ = ["UNKNOWN_DEVICE", "browser_key", "browser_name", "describe", "system_key", "system_name"]
