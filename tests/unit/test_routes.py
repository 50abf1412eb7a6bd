"""lkk_app/routes.py is the one place that spells an address: pages, tabs, HTTP
routes, Reflex's endpoints, static files."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from lkk_app import routes

APP = Path(__file__).resolve().parents[2] / "lkk_app"
# A string that starts like an absolute path: "/profile", "/auth/", "/lkk.css", "/_event".
PATH_LIKE = re.compile(r"/[A-Za-z0-9_.-]")
# The billing package speaks to another system's API (its own /v1/... paths).
NOT_OURS = (APP / "billing",)


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def path_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string literal (f-string parts included, docstrings
    not) that starts like an absolute path."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    out = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in docstrings and PATH_LIKE.match(node.value)):
            out.append((node.lineno, node.value))
    return out


def test_the_check_finds_what_it_looks_for():
    found = path_literals('"""/docstring"""\nA = "/profile"\nB = f"/confirm/{x}"\nC = "/"\n'
                          'D = "tel:+7"\nE = x.rstrip("/")\n')
    assert found == [(2, "/profile"), (3, "/confirm/")]


def test_no_module_but_routes_spells_a_path():
    files = [f for f in sorted(APP.rglob("*.py"))
             if f.name != "routes.py" or f.parent != APP]
    files = [f for f in files if not any(f.is_relative_to(d) for d in NOT_OURS)]
    assert len(files) > 50
    offenders = {str(f.relative_to(APP)): found for f in files
                 if (found := path_literals(f.read_text(encoding="utf-8")))}
    assert offenders == {}


def test_every_page_is_registered_from_the_registry():
    import lkk_app.lkk_app  # noqa: F401 - registers the pages
    from lkk_app.lkk_app import app

    registered = {"/" if route == "index" else "/" + route for route in app._unevaluated_pages}
    assert registered == {"/" + page.path.lstrip("/") for page in routes.pages()}
    assert "/" + routes.NOT_FOUND in registered  # the Russian «Страница не найдена»
    assert {tab.path for tab in routes.TABS} <= registered
    assert routes.CABINET_HOME in registered


def test_http_routes_come_from_the_routes_module(db, settings):
    from lkk_app.web.http import build_http_app

    paths = {route.path for route in build_http_app().routes}
    assert paths == {routes.DEV_MAIL, routes.AUTH_LOGIN, routes.AUTH_LOGOUT, routes.AUTH_RESEND,
                     routes.CONFIRM_LINK, routes.CAPTCHA_AUDIO, routes.DOCUMENT_FILE, routes.DOCUMENTS_ZIP,
                     routes.SUPPLIER_LOGO}


def test_addresses_with_parameters():
    assert routes.login_url(e="invalid", login="ivan", next="", cap="") == "/?e=invalid&login=ivan"
    assert routes.login_url() == "/"
    assert routes.login_then("/profile?tab=1") == "/?next=/profile%3Ftab%3D1"
    assert routes.login_then("/profile", ended=True) == "/?next=/profile&expired=1"
    assert routes.confirm_link("abc") == "/confirm/abc"
    assert routes.confirm_failed("used") == "/confirm-failed?reason=used"
    assert routes.captcha_audio("Ab_-9") == "/captcha/audio/Ab_-9"


@pytest.mark.parametrize("raw,expected", [
    ("/profile", "/profile"),
    ("/profile?x=1", "/profile?x=1"),
    ("", routes.CABINET_HOME),
    ("/", routes.CABINET_HOME),
    ("/?next=/profile", routes.CABINET_HOME),
    ("//evil.example", routes.CABINET_HOME),
    ("/\\evil.example", routes.CABINET_HOME),
    ("https://evil.example/", routes.CABINET_HOME),
    ("/javascript:alert(1)", routes.CABINET_HOME),
    ("/profile\r\nSet-Cookie: x=1", routes.CABINET_HOME),
    ("/" + "a" * 600, routes.CABINET_HOME),
])
def test_safe_next_allows_only_same_site_paths(raw, expected):
    assert routes.safe_next(raw) == expected


def test_the_mail_link_uses_the_routes_module():
    from lkk_app.mail.templates import confirm_link

    assert confirm_link("https://lkk.example.ru/", "tok") == "https://lkk.example.ru/confirm/tok"
