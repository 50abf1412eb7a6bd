"""«Сеансы»: the device named in plain Russian from a User-Agent header."""

from __future__ import annotations

import time

import pytest

from lkk_app.auth import useragent

CASES = [
    # Desktop
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36", "Chrome, Windows"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70", "Edge, Windows"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
     "Firefox, Windows"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/130.0.0.0 YaBrowser/24.12.0.0 Safari/537.36", "Яндекс Браузер, Windows"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0", "Opera, Windows"),
    ("Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko", "Internet Explorer, Windows"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/18.1 Safari/605.1.15", "Safari, macOS"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36", "Chrome, macOS"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "HeadlessChrome/131.0.0.0 Safari/537.36", "Chrome, Linux"),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
     "Firefox, Linux"),
    ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36", "Chrome, ChromeOS"),
    # Phones and tablets
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari, iPhone"),
    ("Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.7 Mobile/15E148 Safari/604.1", "Safari, iPad"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", "Chrome, iPhone"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15", "Firefox, iPhone"),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome, Android"),
    ("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", "Samsung Internet, Android"),
    ("Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", "Firefox, Android"),
    # Only half recognised, or nothing at all
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) SomethingNew/1.0", "Неизвестный браузер, Windows"),
    ("Mozilla/5.0 Firefox/133.0", "Firefox"),
    ("curl/8.5.0", "Неизвестное устройство"),
    ("python-requests/2.32", "Неизвестное устройство"),
    ("", "Неизвестное устройство"),
    ("   ", "Неизвестное устройство"),
]


@pytest.mark.parametrize(("header", "expected"), CASES)
def test_describe(header, expected):
    assert useragent.describe(header) == expected


@pytest.mark.parametrize("value", [None, 42, b"Chrome/1", ["Chrome/1"], object()])
def test_describe_anything_that_is_not_text(value):
    assert useragent.describe(value) == "Неизвестное устройство"


def test_result_is_always_one_of_the_fixed_names():
    """A hostile header cannot put its own text (markup, control characters) on the page."""
    evil = "<script>alert(1)</script>\x00\n Chrome/1 (Windows NT 10.0) <img src=x onerror=alert(1)>"
    assert useragent.describe(evil) == "Chrome, Windows"
    assert useragent.describe("<b>" * 100) == "Неизвестное устройство"


@pytest.mark.timing
def test_huge_or_pathological_headers_are_cheap():
    started = time.perf_counter()
    for header in ("A" * 1_000_000, "(" * 200_000 + "Linux", "Safari/" * 100_000):
        useragent.describe(header)
    assert time.perf_counter() - started < 1.0


def test_only_the_start_of_a_huge_header_is_read():
    assert useragent.describe("x" * 5000 + " Chrome/1 Windows") == "Неизвестное устройство"
