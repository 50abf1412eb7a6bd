"""Settings are read from the environment and validated at start."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from lkk_app.settings import SECRET_KEY_MIN_BITS, SettingsError, load_settings, secret_key_bits

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
# A key as the README says to make one (secrets.token_urlsafe(32)).
KEY = "5NhWVkFF-ly2Iwk_ElwwZlhcc-A32WvsOem_BQTyPTg"


def test_development_defaults(tmp_path):
    s = load_settings({"LKK_DATA_DIR": str(tmp_path)})
    assert s.env == "development"
    assert s.public_url == "http://localhost:3000"
    assert s.db_url == f"sqlite:///{tmp_path / 'lkk.db'}"
    assert s.bcrypt_cost == 12
    assert (s.session_idle_minutes, s.session_absolute_hours) == (30, 12)
    # The embedded default keeps a random key under the data directory.
    assert (tmp_path / "secret_key").read_text().strip().encode() == s.secret_key
    assert load_settings({"LKK_DATA_DIR": str(tmp_path)}).secret_key == s.secret_key
    assert len(s.secret_key) >= 48


@pytest.mark.parametrize("missing", ["LKK_SECRET_KEY", "LKK_PUBLIC_URL"])
def test_production_refuses_without_key_or_public_url(tmp_path, missing):
    env = {"LKK_ENV": "production", "LKK_SECRET_KEY": KEY, "LKK_PUBLIC_URL": "https://lkk.example.ru",
           "LKK_DATA_DIR": str(tmp_path), "LKK_SMTP_HOST": "smtp.example.ru", "LKK_BILLING_ADAPTER": "demo"}
    del env[missing]
    with pytest.raises(SettingsError, match=missing):
        load_settings(env)
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    "name,value",
    [("LKK_ENV", "staging"), ("LKK_BCRYPT_COST", "9"), ("LKK_BCRYPT_COST", "abc"),
     ("LKK_PUBLIC_URL", "ftp://x"), ("LKK_PUBLIC_URL", "lkk.example.ru"), ("LKK_SECRET_KEY", "short"),
     ("LKK_SESSION_IDLE_MINUTES", "0"), ("LKK_SESSION_COOKIE", "bad name;")],
)
def test_invalid_values_are_refused(tmp_path, name, value):
    with pytest.raises(SettingsError, match=name):
        load_settings({"LKK_DATA_DIR": str(tmp_path), name: value})


def test_https_public_url_makes_cookies_secure(tmp_path):
    s = load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_PUBLIC_URL": "https://lkk.example.ru/"})
    assert s.cookie_secure and s.public_origin == "https://lkk.example.ru"


def test_rxconfig_follows_settings(tmp_path):
    code = (
        "import rxconfig; c = rxconfig.config;"
        "print(c.cors_allowed_origins, c.telemetry_enabled, c.show_built_with_reflex, c.db_url)"
    )
    env = {"PATH": "/usr/bin:/bin", "LKK_DATA_DIR": str(tmp_path),
           "LKK_PUBLIC_URL": "https://lkk.example.ru"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True).stdout
    assert "['https://lkk.example.ru'] False False" in out
    assert str(tmp_path / "lkk.db") in out


def test_production_app_refuses_to_start_without_secret(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "LKK_ENV": "production", "LKK_DATA_DIR": str(tmp_path),
           "LKK_PUBLIC_URL": "https://lkk.example.ru"}
    r = subprocess.run([sys.executable, "-c", "import rxconfig"], cwd=ROOT, env=env,
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert "LKK_SECRET_KEY" in r.stderr


def test_support_settings(tmp_path):
    s = load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_SUPPLIER_NAME": "АО «Энергосбыт»",
                       "LKK_SUPPORT_PHONES": "8 800 100-00-00; +7 (495) 123-45-67",
                       "LKK_SUPPORT_HOURS": "круглосуточно", "LKK_SUPPORT_EMAIL": "help@es.ru"})
    assert s.supplier_name == "АО «Энергосбыт»"
    assert s.support_phones == ("8 800 100-00-00", "+7 (495) 123-45-67")
    assert (s.support_hours, s.support_email) == ("круглосуточно", "help@es.ru")
    defaults = load_settings({"LKK_DATA_DIR": str(tmp_path)})
    assert defaults.support_phones and defaults.support_hours and defaults.support_email


@pytest.mark.parametrize("name,value", [("LKK_SUPPORT_PHONES", "call us"),
                                        ("LKK_SUPPORT_PHONES", "8 800 100-00-00; +7 000 000-00-00"),
                                        ("LKK_SUPPORT_PHONES", "+12345678"),  # 8 digits, in no numbering plan
                                        ("LKK_SUPPORT_EMAIL", "nope"),
                                        ("LKK_SUPPORT_EMAIL", "help@support.local"),
                                        ("LKK_SUPPLIER_NAME", "x" * 201)])
def test_bad_support_settings(tmp_path, name, value):
    with pytest.raises(SettingsError, match=name):
        load_settings({"LKK_DATA_DIR": str(tmp_path), name: value})


# --------------------------------------------------------------------------- the supplier's look


def test_supplier_look_defaults(tmp_path):
    s = load_settings({"LKK_DATA_DIR": str(tmp_path)})
    assert s.supplier_logo == ROOT / "assets" / "supplier-logo.svg" and s.supplier_logo.is_file()
    assert (s.supplier_color_primary, s.supplier_color_accent) == ("#1e6fd9", "#f2a900")


@pytest.mark.parametrize("value,stored", [
    ("#0A7", "#0a7"), ("#0a7b3c", "#0a7b3c"), ("#0a7b3c80", "#0a7b3c80"), ("  Navy ", "navy"),
    ("rgb(10 123 60)", "rgb(10 123 60)"), ("rgba(10, 123, 60, 0.8)", "rgba(10, 123, 60, 0.8)"),
    ("hsl(150 85% 26%)", "hsl(150 85% 26%)"), ("rgb(4% 48% 23% / 90%)", "rgb(4% 48% 23% / 90%)"),
])
def test_supplier_colours_are_css_colours(tmp_path, value, stored):
    s = load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_SUPPLIER_COLOR_PRIMARY": value,
                       "LKK_SUPPLIER_COLOR_ACCENT": value})
    assert s.supplier_color_primary == s.supplier_color_accent == stored


@pytest.mark.parametrize("value", [
    "#12345", "#ggg", "blue;}body{display:none", "red; --x: 1", "url(https://evil.example/x)",
    "expression(alert(1))", "rgb(1, 2)", "rgb(1% 2 3)", "hsl(10% 20% 30%)", "transparent", "currentColor",
    "var(--blue)", "синий", "#fff</style><script>", "x" * 80,
])
def test_bad_supplier_colours_refuse_to_start(tmp_path, value):
    with pytest.raises(SettingsError) as info:
        load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_SUPPLIER_COLOR_PRIMARY": value,
                       "LKK_SUPPLIER_COLOR_ACCENT": value})
    assert [p.split(" must ")[0] for p in info.value.problems] == ["LKK_SUPPLIER_COLOR_PRIMARY",
                                                                   "LKK_SUPPLIER_COLOR_ACCENT"]
    assert "CSS colour" in info.value.problems[0]


PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")


def test_supplier_logo_an_absolute_file_or_one_of_assets(tmp_path):
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    assert load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_SUPPLIER_LOGO": str(logo)}).supplier_logo == logo
    assert load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_SUPPLIER_LOGO": "supplier-logo.svg"}).supplier_logo \
        == (ROOT / "assets" / "supplier-logo.svg").resolve()


@pytest.mark.parametrize("name,content,why", [
    ("missing.png", None, "no such file"),
    ("logo.gif", b"GIF89a", ".png, .jpg, .webp or .svg"),
    ("fake.png", b"<html>not a picture</html>", "not a PNG"),
    ("big.png", PNG + b"\0" * (600 * 1024), "at most 512 KB"),
    ("fake.svg", b"plain text", "not a SVG"),
])
def test_bad_supplier_logo_refuses_to_start(tmp_path, name, content, why):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SettingsError, match="LKK_SUPPLIER_LOGO") as info:
        load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_SUPPLIER_LOGO": str(path)})
    assert why in str(info.value)


def test_a_relative_logo_stays_inside_assets(tmp_path):
    with pytest.raises(SettingsError, match="file of assets/"):
        load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_SUPPLIER_LOGO": "../lkk_app/fonts/x.png"})


def test_bad_supplier_look_is_refused_at_start_without_a_traceback(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "LKK_DATA_DIR": str(tmp_path), "LKK_SUPPLIER_COLOR_ACCENT": "yellowish"}
    r = subprocess.run([sys.executable, "-c", "import rxconfig"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 2
    assert "LKK_SUPPLIER_COLOR_ACCENT must be a CSS colour" in r.stderr and "Traceback" not in r.stderr


def _production(tmp_path, **kw) -> dict[str, str]:
    return {"LKK_ENV": "production", "LKK_SECRET_KEY": KEY, "LKK_PUBLIC_URL": "https://lkk.example.ru",
            "LKK_DATA_DIR": str(tmp_path), "LKK_SMTP_HOST": "smtp.example.ru",
            "LKK_BILLING_ADAPTER": "demo", **kw}


def test_a_good_production_configuration_starts(tmp_path):
    s = load_settings(_production(tmp_path))
    assert s.is_production and s.secret_key == KEY.encode()


# Several bad settings at once: every one is named, not only the first.
BAD_PRODUCTION = {
    "LKK_ENV": "production",
    "LKK_SECRET_KEY": "changeme" * 4,
    "LKK_PUBLIC_URL": "lkk.example.ru",
    "LKK_BCRYPT_COST": "9",
    "LKK_SESSION_IDLE_MINUTES": "soon",
    "LKK_SMTP_TLS": "ssl",
    "LKK_SMTP_USER": "mailer",
    "LKK_CAPTCHA_FIXED_CODE": "123456",
    "LKK_SUPPORT_EMAIL": "nope",
}
BAD_NAMES = ["LKK_PUBLIC_URL", "LKK_SECRET_KEY", "LKK_CAPTCHA_FIXED_CODE", "LKK_BCRYPT_COST",
             "LKK_SESSION_IDLE_MINUTES", "LKK_SMTP_HOST", "LKK_SMTP_TLS", "LKK_SMTP_USER",
             "LKK_SUPPORT_EMAIL", "LKK_BILLING_ADAPTER"]


def test_production_lists_every_bad_setting_at_once(tmp_path):
    with pytest.raises(SettingsError) as caught:
        load_settings({**BAD_PRODUCTION, "LKK_DATA_DIR": str(tmp_path)})
    problems = caught.value.problems
    assert len(problems) == len(BAD_NAMES), problems
    for name, problem in zip(BAD_NAMES, problems):
        assert name in problem
    assert str(caught.value).splitlines() == problems
    # Nothing secret is repeated back.
    assert "changeme" not in str(caught.value)
    assert not (tmp_path / "secret_key").exists()


def test_development_lists_every_bad_setting_too(tmp_path):
    with pytest.raises(SettingsError) as caught:
        load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_ENV": "staging", "LKK_BCRYPT_COST": "99",
                       "LKK_SECRET_KEY": "short", "LKK_SESSION_COOKIE": "a b"})
    assert [p.split()[0] for p in caught.value.problems] == [
        "LKK_ENV", "LKK_SECRET_KEY", "LKK_SESSION_COOKIE", "LKK_BCRYPT_COST"]
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize("key", [
    "k" * 40,                                      # one repeated character
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk1",
    "changeme" * 4,                                # changeme…
    "changeme-please-this-is-the-secret-key",
    "passwordpasswordpasswordpassword",            # a dictionary word, repeated
    "thequickbrownfoxjumpsoverthelazydog",         # dictionary words
    "correcthorsebatterystaplecorrecthorse",
    "12345678901234567890123456789012",            # digits in sequence
    "84736291047382910473829104738291",            # 32 random-looking digits: 106 bits at most
    "qwertyuiopasdfghjklzxcvbnmqwertyuiop",        # keyboard rows
    "abcdefghijklmnopqrstuvwxyz0123456789",        # sequences
    "lkk.example.ru-lkk.example.ru-lkk.example.ru",  # the site's own name
    "unit-test-secret-key-0123456789-abcdefghij",
])
def test_production_refuses_a_guessable_key(tmp_path, key):
    assert len(key) >= 32
    assert secret_key_bits(key, ("lkk", "example")) < SECRET_KEY_MIN_BITS
    with pytest.raises(SettingsError, match="LKK_SECRET_KEY is too guessable") as caught:
        load_settings(_production(tmp_path, LKK_SECRET_KEY=key))
    assert key not in str(caught.value)


def test_production_refuses_a_short_key(tmp_path):
    with pytest.raises(SettingsError, match="at least 32 characters"):
        load_settings(_production(tmp_path, LKK_SECRET_KEY=secrets.token_urlsafe(23)[:31]))


@pytest.mark.parametrize("make", [
    lambda: secrets.token_urlsafe(32),                            # README: 43 characters
    lambda: secrets.token_hex(32),                                # openssl rand -hex 32
    lambda: base64.b64encode(secrets.token_bytes(32)).decode(),   # openssl rand -base64 32
    lambda: base64.b64encode(secrets.token_bytes(24)).decode(),   # 32 characters, 192 bits
    lambda: "".join(secrets.choice("абвгдеёжзийклмнопрстуфхцчшщъыьэюя0123456789") for _ in range(32)),
])
def test_production_accepts_random_keys(tmp_path, make):
    """Random keys of 192 bits and more pass every time (20 fresh keys each)."""
    for _ in range(20):
        key = make()
        assert secret_key_bits(key) >= SECRET_KEY_MIN_BITS + 20, key
        assert load_settings(_production(tmp_path, LKK_SECRET_KEY=key)).secret_key == key.encode()


def test_development_keeps_accepting_a_simple_key(tmp_path):
    """Only production judges the key's entropy (tests and demos use simple keys)."""
    assert load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_SECRET_KEY": "k" * 40}).secret_key == b"k" * 40


def _start_env(tmp_path, **kw) -> dict[str, str]:
    return {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": os.environ.get("HOME", str(tmp_path)),
            "REFLEX_USE_NPM": "1", "REFLEX_TELEMETRY_ENABLED": "false",
            "REFLEX_WEB_WORKDIR": str(tmp_path / "web"), **kw}


@pytest.mark.parametrize("command", [
    ["run", "--env", "prod", "--single-port", "--frontend-port", "3999", "--backend-port", "3999"],
    ["db", "migrate"],
], ids=["reflex run", "reflex db migrate"])
def test_the_start_command_names_every_bad_setting_without_a_traceback(tmp_path, command):
    """`make run` runs `reflex db migrate`, then `reflex run`: both refuse in a few lines."""
    env = _start_env(tmp_path, **BAD_PRODUCTION, LKK_DATA_DIR=str(tmp_path / "data"))
    r = subprocess.run([str(VENV_BIN / "reflex"), *command], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr[-3000:]
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 + len(BAD_NAMES), r.stderr
    assert "ЛКК не запущен" in lines[0] and str(len(BAD_NAMES)) in lines[0]
    for name, line in zip(BAD_NAMES, lines[1:]):
        assert name in line
    assert "changeme" not in r.stderr
    assert not (tmp_path / "web").exists()  # refused before anything was built


def test_the_time_zone_is_moscow_by_default_and_any_iana_zone_by_choice(tmp_path):
    s = load_settings({"LKK_DATA_DIR": str(tmp_path)})
    assert s.time_zone == "Europe/Moscow" and s.zone.key == "Europe/Moscow"
    s = load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_TIME_ZONE": " Asia/Vladivostok "})
    assert s.time_zone == "Asia/Vladivostok" and s.zone.key == "Asia/Vladivostok"


@pytest.mark.parametrize("zone", ["Moscow", "Europe/Mordor", "europe/moscow", "MSK+3", "../etc/passwd",
                                  "/usr/share/zoneinfo/UTC", "Europe", "zone.tab", "localtime",
                                  "Europe/Moscow\x00", "A" * 200])
def test_a_time_zone_that_is_not_an_iana_zone_is_refused(tmp_path, zone):
    with pytest.raises(SettingsError, match="LKK_TIME_ZONE must be an IANA time zone") as refused:
        load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_TIME_ZONE": zone})
    assert len(refused.value.problems) == 1
