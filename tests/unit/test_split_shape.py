"""The split shape (LKK_FRONTEND_URL): the settings, the cookies, the answers
of the form routes to the pages' script, the origins let in, the links.
tests/split drives it end to end in Chromium."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lkk_app import routes
from lkk_app.settings import SettingsError, load_settings
from tests.unit.test_confirm_route import _press, _state, _unconfirmed
from tests.unit.test_login_route import CODE, PASSWORD, client, make_user
from tests.unit.test_settings import ROOT as ROOT_DIR

PAGES = "https://lkk-pages.example"
SERVER = "https://lkk-server.example"
SPLIT = {"LKK_PUBLIC_URL": SERVER, "LKK_FRONTEND_URL": PAGES, "LKK_CAPTCHA_FIXED_CODE": CODE}


def test_one_site_is_the_default(tmp_path):
    s = load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_PUBLIC_URL": "https://lkk.example.ru"})
    assert not s.split_site and s.page_origins == ("https://lkk.example.ru",)
    assert s.cookie_options["samesite"] == "strict"
    # The same origin named twice is still one site.
    s = load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_PUBLIC_URL": "https://lkk.example.ru",
                       "LKK_FRONTEND_URL": "https://lkk.example.ru/"})
    assert not s.split_site


def test_the_pages_origin_is_written_as_a_browser_sends_it(tmp_path):
    s = load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_PUBLIC_URL": SERVER,
                       "LKK_FRONTEND_URL": "https://LKK-Pages.Example:443"})
    assert s.frontend_origin == PAGES and s.page_origins == (SERVER, PAGES)


def test_two_sites(tmp_path):
    s = load_settings({"LKK_DATA_DIR": str(tmp_path), **SPLIT})
    assert s.split_site and s.pages_url == PAGES and s.page_origins == (SERVER, PAGES)
    assert s.cookie_options == {"path": "/", "httponly": True, "secure": True, "samesite": "none"}


@pytest.mark.parametrize("frontend,public", [
    ("http://lkk-pages.example", SERVER),       # cookies across sites need https
    (PAGES, "http://lkk-server.example"),
    ("https://lkk-pages.example/lkk", SERVER),  # an origin only
    ("lkk-pages.example", SERVER),
    ("https://lkk-pages.example:port", SERVER),
    ("https://user@lkk-pages.example", SERVER),
])
def test_bad_frontend_urls_are_refused(tmp_path, frontend, public):
    with pytest.raises(SettingsError, match="LKK_FRONTEND_URL"):
        load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_PUBLIC_URL": public, "LKK_FRONTEND_URL": frontend})


def test_rxconfig_points_the_pages_at_the_server(tmp_path):
    code = "import rxconfig; c = rxconfig.config; print(c.cors_allowed_origins, c.api_url, c.deploy_url)"
    env = {"PATH": "/usr/bin:/bin", "LKK_DATA_DIR": str(tmp_path), **SPLIT}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT_DIR, env=env, capture_output=True,
                         text=True, check=True).stdout
    assert out.split() == [f"['{SERVER}',", f"'{PAGES}']", SERVER, PAGES]


@pytest.mark.app_settings(**SPLIT)
def test_addresses_name_the_other_site(app_db):
    assert routes.server_address(routes.AUTH_LOGIN) == SERVER + "/auth/login"
    assert routes.page_address(routes.PROFILE) == PAGES + "/profile"


@pytest.mark.app_settings(**SPLIT)
def test_a_login_posted_by_the_pages_script_is_answered_with_the_next_page(app_db):
    make_user()
    c = client()
    wrong = c.post("/auth/login?via=fetch", data={"login": "petrov", "password": "не тот"},
                   headers={"origin": PAGES})
    assert wrong.status_code == 200 and wrong.json() == {"location": PAGES + "/?e=invalid"}
    hint = wrong.headers["set-cookie"]
    assert "samesite=none" in hint.lower() and "secure" in hint.lower() and hint.endswith("; Partitioned")
    ok = c.post("/auth/login?via=fetch", data={"login": "petrov", "password": PASSWORD},
                headers={"origin": PAGES})
    assert ok.json() == {"location": PAGES + "/profile"}
    cookies = ok.headers.get_list("set-cookie")
    session = next(h for h in cookies if h.startswith("lkk_session="))
    assert "httponly" in session.lower() and session.endswith("; Partitioned")
    # Every cookie taken away is partitioned too (else the browser keeps the old one).
    assert all(h.endswith("; Partitioned") for h in cookies)
    # A plain post (no script) still gets the redirect, to the pages' site.
    plain = client().post("/auth/login", data={"login": "petrov", "password": "не тот"},
                          headers={"origin": PAGES})
    assert plain.status_code == 303 and plain.headers["location"] == PAGES + "/?e=invalid"


@pytest.mark.app_settings(**SPLIT)
def test_other_sites_still_cannot_post(app_db):
    make_user()
    for origin in ("https://evil.example", "http://lkk-pages.example"):
        r = client().post("/auth/login?via=fetch", data={"login": "petrov", "password": PASSWORD},
                          headers={"origin": origin})
        assert r.status_code == 403 and "set-cookie" not in r.headers


@pytest.mark.app_settings(**SPLIT)
def test_the_confirmation_sends_the_person_to_log_in_on_the_pages(app_db):
    user_id, token = _unconfirmed()
    c = client()
    page = c.get(f"/confirm/{token}")
    assert "Подтвердить адрес" in page.text
    from lkk_app.settings import get_settings
    from lkk_app.web.asgi.headers import content_security_policy

    policy = content_security_policy(get_settings())
    assert f"form-action 'self' {SERVER} {PAGES};" in policy
    assert f"connect-src 'self' {SERVER} wss://lkk-server.example;" in policy
    response = _press(c, token, origin=SERVER)
    assert response.status_code == 303 and response.headers["location"] == PAGES + "/?confirmed=1"
    # Confirmed, but no session: a cookie set here would belong to the server's site.
    assert not [h for h in response.headers.get_list("set-cookie") if h.startswith("lkk_session=")]
    assert _state(user_id) == (True, 0, 1)
