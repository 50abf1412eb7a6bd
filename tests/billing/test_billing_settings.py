"""LKK_BILLING_* settings and the adapter factory."""

from __future__ import annotations

import asyncio

import pytest

from lkk_app.billing import get_gateway
from lkk_app.billing.adapters.demo import DemoBilling
from lkk_app.billing.adapters.http import HttpBilling
from lkk_app.settings import SettingsError, load_settings

KEY = "k" * 40
# Production refuses a guessable key.
PRODUCTION_KEY = "Qm7vX2pL9sT4wZ8cR1yN6bH3jK5dF0gA-e_uViOtEr"


def _env(tmp_path, **kw):
    return {"LKK_DATA_DIR": str(tmp_path), "LKK_SECRET_KEY": KEY, **kw}


def _prod(tmp_path, **kw):
    return {**_env(tmp_path, LKK_ENV="production", LKK_PUBLIC_URL="https://lkk.example.ru",
                   LKK_SMTP_HOST="smtp.example.ru", **kw), "LKK_SECRET_KEY": PRODUCTION_KEY}


def test_development_defaults_to_the_demo_billing(tmp_path):
    s = load_settings(_env(tmp_path))
    assert (s.billing_adapter, s.billing_url, s.billing_token) == ("demo", "", "")
    assert (s.billing_sync_minutes, s.billing_connect_timeout, s.billing_read_timeout) == (15, 3, 10)


def test_production_must_name_the_adapter(tmp_path):
    with pytest.raises(SettingsError, match="LKK_BILLING_ADAPTER"):
        load_settings(_prod(tmp_path))
    assert load_settings(_prod(tmp_path, LKK_BILLING_ADAPTER="demo")).billing_adapter == "demo"
    s = load_settings(_prod(tmp_path, LKK_BILLING_ADAPTER="http", LKK_BILLING_URL="https://billing.example.ru/",
                            LKK_BILLING_TOKEN="t0k3n", LKK_BILLING_SYNC_MINUTES="60",
                            LKK_BILLING_CONNECT_TIMEOUT="5", LKK_BILLING_READ_TIMEOUT="30"))
    assert (s.billing_adapter, s.billing_url, s.billing_token) == ("http", "https://billing.example.ru", "t0k3n")
    assert (s.billing_sync_minutes, s.billing_connect_timeout, s.billing_read_timeout) == (60, 5, 30)
    assert "t0k3n" not in repr(s)


@pytest.mark.parametrize("env,name", [
    ({"LKK_BILLING_ADAPTER": "soap"}, "LKK_BILLING_ADAPTER"),
    ({"LKK_BILLING_ADAPTER": "http", "LKK_BILLING_TOKEN": "t"}, "LKK_BILLING_URL"),
    ({"LKK_BILLING_ADAPTER": "http", "LKK_BILLING_URL": "ftp://b.example", "LKK_BILLING_TOKEN": "t"},
     "LKK_BILLING_URL"),
    ({"LKK_BILLING_ADAPTER": "http", "LKK_BILLING_URL": "https://u:p@b.example", "LKK_BILLING_TOKEN": "t"},
     "LKK_BILLING_URL"),
    ({"LKK_BILLING_ADAPTER": "http", "LKK_BILLING_URL": "https://b.example"}, "LKK_BILLING_TOKEN"),
    ({"LKK_BILLING_TOKEN": "two words"}, "LKK_BILLING_TOKEN"),
    ({"LKK_BILLING_SYNC_MINUTES": "0"}, "LKK_BILLING_SYNC_MINUTES"),
    ({"LKK_BILLING_CONNECT_TIMEOUT": "x"}, "LKK_BILLING_CONNECT_TIMEOUT"),
    ({"LKK_BILLING_READ_TIMEOUT": "301"}, "LKK_BILLING_READ_TIMEOUT"),
])
def test_bad_billing_settings_are_refused(tmp_path, env, name):
    with pytest.raises(SettingsError, match=name):
        load_settings(_env(tmp_path, **env))


def test_production_needs_https_except_on_loopback(tmp_path):
    base = {"LKK_BILLING_ADAPTER": "http", "LKK_BILLING_TOKEN": "t"}
    with pytest.raises(SettingsError, match="https"):
        load_settings(_prod(tmp_path, LKK_BILLING_URL="http://billing.example.ru", **base))
    assert load_settings(_prod(tmp_path, LKK_BILLING_URL="http://127.0.0.1:8900", **base)).billing_url
    assert load_settings(_env(tmp_path, LKK_BILLING_URL="http://billing.example.ru", **base)).billing_url


def test_get_gateway_picks_the_adapter(tmp_path):
    demo = get_gateway(load_settings(_env(tmp_path, LKK_SUPPLIER_NAME="ГП Демо-Энергосбыт")))
    assert isinstance(demo, DemoBilling)
    http = get_gateway(load_settings(_env(tmp_path, LKK_BILLING_ADAPTER="http",
                                          LKK_BILLING_URL="http://127.0.0.1:1", LKK_BILLING_TOKEN="t",
                                          LKK_BILLING_READ_TIMEOUT="7")))
    assert isinstance(http, HttpBilling) and http._client.timeout.read == 7
    assert str(http._client.base_url) == "http://127.0.0.1:1/v1/"
    asyncio.run(demo.aclose())
    asyncio.run(http.aclose())
