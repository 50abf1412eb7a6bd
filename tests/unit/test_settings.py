"""Settings are read from the environment and validated at start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lkk_app.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]
KEY = "k" * 40


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
           "LKK_DATA_DIR": str(tmp_path), "LKK_SMTP_HOST": "smtp.example.ru"}
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
                                        ("LKK_SUPPORT_EMAIL", "nope"),
                                        ("LKK_SUPPLIER_NAME", "x" * 201)])
def test_bad_support_settings(tmp_path, name, value):
    with pytest.raises(SettingsError, match=name):
        load_settings({"LKK_DATA_DIR": str(tmp_path), name: value})
