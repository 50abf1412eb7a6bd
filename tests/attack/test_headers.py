"""Security headers on every HTTP response of the running app, and a
Content-Security-Policy that the production build really works under."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest

from tests.attack.conftest import CAPTCHA_CODE, PASSWORD

REQUIRED_CSP = {
    "default-src": {"'self'"},
    "frame-ancestors": {"'none'"},
    "object-src": {"'none'"},
    "base-uri": {"'none'"},
    "form-action": {"'self'"},
    "img-src": {"'self'", "data:"},
}
STATIC_SUFFIXES = (".css", ".js", ".ico", ".pdf", ".png", ".svg", ".woff2")
# Responses never shown as a page of their own, and the headers only pages need.
SUBRESOURCE_TYPES = ("text/css", "text/javascript", "application/javascript", "font/",
                     "image/png", "image/x-icon", "image/vnd.microsoft.icon")
PAGE_ONLY_HEADERS = {"content-security-policy", "x-frame-options", "referrer-policy",
                     "permissions-policy", "cross-origin-opener-policy",
                     "strict-transport-security"}


def parse_csp(value: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


@pytest.fixture(scope="module")
def http(app_server):
    with httpx.Client(base_url=app_server.url, follow_redirects=False, timeout=20) as c:
        yield c


@pytest.fixture(scope="module")
def page_routes(db_env) -> list[str]:
    """Every page of the app, from the app object itself (new pages are covered)."""
    from lkk_app.lkk_app import app

    routes = []
    for route in app._unevaluated_pages:
        path = "/" if route == "index" else "/" + route.strip("/")
        routes.append(re.sub(r"\[+\.*(\w+)\]+", "x", path))
    assert "/" in routes and "/profile" in routes
    return routes


@pytest.fixture(scope="module")
def http_routes(db_env) -> list[tuple[str, str]]:
    """(method, path) of every extra HTTP route (lkk_app/web/http)."""
    from lkk_app.web.http import build_http_app

    out = []
    for route in build_http_app().routes:
        path = re.sub(r"\{[^}]+\}", "A" * 43, route.path)
        for method in sorted(route.methods or {"GET"}):
            if method != "HEAD":
                out.append((method, path))
    assert ("POST", "/auth/login") in out
    return out


def every_response(http, app_server, page_routes, http_routes) -> list[tuple[str, httpx.Response]]:
    origin = {"Origin": app_server.url}
    evil = {"Origin": "https://evil.example"}
    home = http.get("/")
    assets = sorted(set(re.findall(r'(?:src|href)="(/assets/[^"]+)"', home.text)))
    assert assets, "no hashed asset found in the login page"
    responses: list[tuple[str, httpx.Response]] = []

    def add(label: str, r: httpx.Response) -> None:
        responses.append((label, r))

    for path in page_routes:
        add(f"GET {path}", http.get(path))
        add(f"GET {path}/", http.get(path.rstrip("/") + "/"))
        add(f"HEAD {path}", http.head(path))
    for path in (assets[:3] + ["/lkk.css", "/lkk.js", "/favicon.ico",
                               "/guides/registration-guide.pdf"]):
        add(f"GET {path}", http.get(path))
    for method, path in http_routes:
        if method == "GET":
            add(f"GET {path}", http.get(path))
        else:
            add(f"{method} {path} (own origin)", http.request(method, path, headers=origin,
                                                              data={"login": "x", "password": "y"}))
            add(f"{method} {path} (foreign origin)", http.request(method, path, headers=evil,
                                                                  data={"login": "x", "password": "y"}))
            add(f"GET {path} (wrong method)", http.get(path))
    for path in ("/ping", "/_health", "/no/such/page", "/assets/no-such-file.js",
                 "/confirm-failed?reason=used", "/_event/?EIO=4&transport=polling"):
        add(f"GET {path}", http.get(path, headers=origin))
    add("GET /_event (foreign origin)", http.get("/_event/?EIO=4&transport=polling", headers=evil))
    add("POST / (foreign origin)", http.post("/", headers=evil))
    add("PUT /profile", http.put("/profile", headers=origin))
    return responses


def test_every_response_carries_the_security_headers(http, app_server, page_routes, http_routes):
    responses = every_response(http, app_server, page_routes, http_routes)
    assert len(responses) > 30
    problems = []
    subresources = 0
    for label, r in responses:
        h = r.headers
        if h.get("x-content-type-options") != "nosniff":
            problems.append(f"{label}: X-Content-Type-Options {h.get('x-content-type-options')}")
        if h.get("cross-origin-resource-policy") != "same-origin":
            problems.append(f"{label}: CORP {h.get('cross-origin-resource-policy')}")
        content_type = h.get("content-type", "")
        if r.status_code == 200 and content_type.startswith(SUBRESOURCE_TYPES):
            # Never shown as a page: no page-only headers (bytes on every asset).
            subresources += 1
            extra = PAGE_ONLY_HEADERS & set(h.keys())
            if extra:
                problems.append(f"{label} ({content_type}): page-only headers {sorted(extra)}")
            wanted_cache = ("public, max-age=31536000, immutable"
                            if label.split()[1].startswith("/assets/") else "no-cache")
            if h.get("cache-control") != wanted_cache:
                problems.append(f"{label}: Cache-Control {h.get('cache-control')}")
            continue
        csp = parse_csp(h.get("content-security-policy", ""))
        for directive, needed in REQUIRED_CSP.items():
            if not needed <= set(csp.get(directive, [])):
                problems.append(f"{label}: CSP {directive} is {csp.get(directive)}")
        for directive in ("script-src", "style-src", "connect-src"):
            if directive not in csp:
                problems.append(f"{label}: CSP has no {directive}")
        if "'unsafe-inline'" in csp.get("script-src", []):
            problems.append(f"{label}: script-src allows 'unsafe-inline'")
        if "'unsafe-eval'" in csp.get("script-src", []):
            problems.append(f"{label}: script-src allows 'unsafe-eval'")
        ws = app_server.url.replace("http://", "ws://")
        if ws not in csp.get("connect-src", []):
            problems.append(f"{label}: connect-src {csp.get('connect-src')} lacks {ws}")
        if h.get("x-frame-options") != "DENY":
            problems.append(f"{label}: X-Frame-Options {h.get('x-frame-options')}")
        if h.get("referrer-policy") not in ("no-referrer", "same-origin", "strict-origin"):
            problems.append(f"{label}: Referrer-Policy {h.get('referrer-policy')}")
        if "strict-transport-security" in h:
            problems.append(f"{label}: HSTS over plain http")
        path = label.split()[1]
        cacheable = (path.startswith("/assets/") and r.status_code == 200) or (
            path.endswith(STATIC_SUFFIXES) and r.status_code == 200)
        if path == "/supplier-logo" and r.status_code == 200:
            # The supplier's public logo (an SVG keeps the page headers): revalidated, never private.
            if h.get("cache-control") != "no-cache":
                problems.append(f"{label}: Cache-Control {h.get('cache-control')}")
        elif not cacheable and h.get("cache-control") != "no-store":
            problems.append(f"{label} [{r.status_code}]: Cache-Control {h.get('cache-control')}")
        # One-time link pages never put their path (the token) into a Referer;
        # the confirmation page keeps the Origin of its own button's post.
        wanted = {"/confirm/": "strict-origin", "/dev/": "no-referrer"}
        for prefix, policy in wanted.items():
            if path.startswith(prefix) and h.get("referrer-policy") != policy:
                problems.append(f"{label}: one-time link page with Referrer-Policy {h.get('referrer-policy')}")
    assert subresources >= 4, subresources
    assert not problems, "\n".join(problems)


def test_pages_auth_and_confirm_are_never_cached(http, page_routes):
    for path in [*page_routes, "/confirm/" + "A" * 43]:
        r = http.get(path)
        assert r.headers["cache-control"] == "no-store", path
    r = http.post("/auth/login", headers={"Origin": str(http.base_url).rstrip("/")},
                  data={"login": "nobody", "password": "wrong password"})
    assert r.status_code == 303 and r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] in ("no-referrer", "same-origin")


IMMUTABLE = "public, max-age=31536000, immutable"


def test_hashed_assets_are_cached_for_a_year_and_pages_never(http, page_routes):
    """The build names every file under /assets/ after its content: browsers keep
    them a year without asking again, while every page stays uncached (a new
    build changes the pages, and with them the asset names they load)."""
    home = http.get("/")
    assert home.status_code == 200
    assert home.headers["cache-control"] == "no-store"
    assets = sorted(set(re.findall(r'(?:src|href)="(/assets/[^"]+)"', home.text)))
    assert len(assets) >= 3, assets
    for path in assets:
        r = http.get(path)
        assert r.status_code == 200, path
        assert r.headers["cache-control"] == IMMUTABLE, path
        # A revalidation (should a browser send one) keeps the same promise.
        again = http.get(path, headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304 and again.headers["cache-control"] == IMMUTABLE, path
    for path in page_routes:
        for variant in {path, path.rstrip("/") + "/"}:
            r = http.get(variant, follow_redirects=True)
            assert r.headers["cache-control"] == "no-store", variant
            assert "immutable" not in r.headers["cache-control"]
    # The page's own script is asked for with its version: kept a year too.
    (script,) = re.findall(r'src="(/lkk\.js\?v=[0-9a-f]{12})"', home.text)
    r = http.get(script)
    assert r.status_code == 200 and r.headers["cache-control"] == IMMUTABLE, script
    # Not content-hashed: revalidated, or not stored at all when missing.
    assert http.get("/lkk.css").headers["cache-control"] == "no-cache"
    assert http.get("/lkk.js").headers["cache-control"] == "no-cache"
    missing = http.get("/assets/no-such-file-ABCD1234.js")
    assert missing.status_code == 404 and missing.headers["cache-control"] == "no-store"


def test_a_page_address_without_its_slash_is_served_without_a_redirect(http, page_routes):
    """``/profile`` is the page itself, not a 307 to ``/profile/`` (one round
    trip less after every login)."""
    for path in page_routes:
        bare = path.rstrip("/") or "/"
        r = http.get(bare)
        expected = 404 if bare == "/404" else 200  # «Страница не найдена» keeps its status
        assert r.status_code == expected, (bare, r.status_code, r.headers.get("location"))
        assert r.text == http.get(bare.rstrip("/") + "/").text, bare
    # Other addresses are left to the static server (its own answers).
    assert http.get("/no/such/page").status_code == 404


def test_every_inline_script_of_every_page_is_allowed_by_hash(http, page_routes):
    """No 'unsafe-inline' for scripts: each inline script is listed by its SHA-256."""
    for path in [*page_routes, "/no/such/page"]:
        r = http.get(path, follow_redirects=True)
        allowed = set(parse_csp(r.headers["content-security-policy"])["script-src"])
        scripts = re.findall(r"<script\b(?![^>]*\bsrc=)[^>]*>(.*?)</script>", r.text, re.S)
        assert scripts, f"{path}: expected React Router's inline bootstrap scripts"
        for body in scripts:
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in allowed, f"{path}: inline script not allowed: {body[:80]!r}"


def test_hsts_and_wss_only_with_an_https_public_url(db_env, loop):
    """The same middleware, configured for https (in process, no server)."""
    import dataclasses

    from lkk_app.web.asgi import security_middleware
    from lkk_app.settings import get_settings

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": b"<p>hi</p>"})

    def headers_for(public_url: str) -> dict[str, str]:
        settings = dataclasses.replace(get_settings(), public_url=public_url)
        mw = security_middleware(app, settings=settings, static_dir=None)
        sent = []

        async def send(message):
            sent.append(message)

        async def receive():
            return {"type": "http.request", "body": b""}

        scope = {"type": "http", "method": "GET", "path": "/profile", "headers": []}
        loop.run(mw(scope, receive, send))
        return {k.decode(): v.decode() for k, v in sent[0]["headers"]}

    secure = headers_for("https://lkk.example.ru")
    assert secure["strict-transport-security"].startswith("max-age=")
    assert int(secure["strict-transport-security"].split("=")[1].split(";")[0]) >= 180 * 24 * 3600
    assert "wss://lkk.example.ru" in parse_csp(secure["content-security-policy"])["connect-src"]
    plain = headers_for("http://localhost:3000")
    assert "strict-transport-security" not in plain
    assert "ws://localhost:3000" in parse_csp(plain["content-security-policy"])["connect-src"]


# ---------------------------------------------------------------------------- in Chromium


def _visit(page, watch, path: str) -> None:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    watch.collect_csp(page)


def test_no_csp_violation_on_any_page_or_flow(page, watch, app_server, page_routes, make_account):
    """Load every page and run the flows (data: captcha images, the websocket,
    form posts, fields cleared by the server), with the CSP enforced."""
    from playwright.sync_api import expect

    for path in [*page_routes, "/no/such/page", "/dev/mail"]:
        _visit(page, watch, path)

    # Registration: a refused submit -> the server clears fields and the strength line.
    _visit(page, watch, "/register")
    img = page.get_by_role("img", name="Картинка с кодом авторизации")
    expect(img).to_have_attribute("src", re.compile("^data:image/png;base64,"))
    page.get_by_role("button", name="Обновить код").click()
    page.get_by_label("Логин").fill("ab")
    page.get_by_label("Пароль", exact=True).fill("short")
    page.get_by_label("Код авторизации").fill(CAPTCHA_CODE)
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.locator("#password-error")).to_contain_text("не менее 8")
    expect(page.get_by_label("Пароль", exact=True)).to_have_value("")
    watch.collect_csp(page)

    # Login (form post), profile, phone, a refused password change, logout.
    account = make_account("csp")
    _visit(page, watch, "/")
    page.get_by_label("Имя пользователя").fill(account.login)
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
    expect(page).to_have_url(re.compile(r"/profile/?$"))
    expect(page.get_by_test_id("profile-login")).to_have_text(account.login)
    page.get_by_label("Номер телефона", exact=True).fill("8 912 000 11 22")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_text("Номер телефона сохранён.")).to_be_visible()
    page.get_by_label("Текущий пароль").fill("это не тот пароль")
    page.get_by_label("Новый пароль").fill("Другой пароль 2025!")
    page.get_by_label("Подтверждение пароля").fill("Другой пароль 2025!")
    page.get_by_role("button", name="Изменить пароль").click()
    expect(page.locator("#current_password-error")).to_have_text(
        "Текущий пароль введён неверно. Неверных попыток до завершения сеанса: 4.")
    expect(page.get_by_label("Текущий пароль")).to_have_value("")
    watch.collect_csp(page)
    page.get_by_role("button", name="Выйти").click()
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
    watch.collect_csp(page)

    assert not watch.csp, "CSP violations:\n" + "\n".join(watch.csp)
    assert not watch.csp_console(), "CSP errors in the console:\n" + "\n".join(watch.csp_console())
    errors = [c for c in watch.console if c[1] == "pageerror"]
    assert not errors, errors
