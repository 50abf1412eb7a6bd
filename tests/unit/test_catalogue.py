"""The catalogue (``lkk_app/i18n/``): every key the code uses is there, every
key there is used, areas do not overlap, and the words live in the catalogue —
not in the code, not in ``assets/lkk.js``."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from datetime import timedelta
from pathlib import Path

import pytest

from lkk_app import i18n
from lkk_app.auth import audit
from lkk_app.billing import types as billing_types
from lkk_app.billing.readings import rules as reading_rules
from lkk_app.core.errors import Code, FieldErrors

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "lkk_app"
KEY_RE = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")

# Keys the code builds at run time, and the code that builds them.
DYNAMIC_FAMILIES = {
    # components/fields.py: t(f"strength.{i}") for the five levels of the hint
    "strength": {f"strength.{level}" for level in range(5)},
    # state/profile.py: f"audit.{event}" for each event of the audit trail
    "audit": {f"audit.{value}" for name, value in vars(audit).items()
              if name.isupper() and isinstance(value, str) and name not in ("OK", "FAIL", "REFUSED")},
    # state/readings.py: f"confirm.{warning}" — the tick that confirms each warning of the rules
    "confirm": {f"confirm.{key}" for key in reading_rules.WARNINGS},
    # i18n.label(code): "<area>.<value>" of each billing code (billing/types.py)
    "labels": {member.label_key for _, enum_type in inspect.getmembers(billing_types, inspect.isclass)
               if issubclass(enum_type, billing_types.Labelled) for member in enum_type},
}

# Where Russian text may stand in code: data, not messages.
RUSSIAN_ALLOWED = {
    "auth/validation.py",  # the Russian alphabet and the ЙЦУКЕН keyboard of the rules
    "settings.py",  # default values of settings (supplier name, hours, the sender's name)
}
RUSSIAN_ALLOWED_DIRS = ("billing/",)  # names and labels of the billing system's records


def _code_files() -> list[Path]:
    return sorted(p for p in APP.rglob("*.py") if "i18n" not in p.relative_to(APP).parts)


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _literals() -> dict[str, list[str]]:
    """Every string constant in lkk_app/ (docstrings and the catalogue left out) → where."""
    found: dict[str, list[str]] = {}
    for path in _code_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                found.setdefault(node.value, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def _called_keys() -> dict[str, str]:
    """First arguments of t("…"), Code("…") and BindingError("…") calls (both branches of a conditional)."""
    keys: dict[str, str] = {}
    for path in _code_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in ("t", "Code", "BindingError"):
                continue
            arg = node.args[0]
            options = [arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]
            for option in options:
                if isinstance(option, ast.Constant) and isinstance(option.value, str):
                    keys[option.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return keys


def test_every_key_used_in_code_is_in_the_catalogue():
    called = _called_keys()
    assert len(called) > 100
    missing = {key: where for key, where in called.items() if key not in i18n.RU}
    assert missing == {}
    # Keys in tables (reasons, labels, device names): literals that look like a
    # key of one of the catalogue's areas.
    areas = {key.split(".")[0] for key in i18n.RU}
    lookalikes = {value: where for value, where in _literals().items()
                  if KEY_RE.fullmatch(value) and value.split(".")[0] in areas
                  and not value.endswith((".py", ".pdf", ".js", ".css", ".zip"))}
    assert {k: v for k, v in lookalikes.items() if k not in i18n.RU} == {}


def test_every_key_in_the_catalogue_is_used():
    literals = set(_literals())
    dynamic = set().union(*DYNAMIC_FAMILIES.values())
    assert dynamic <= set(i18n.RU), dynamic - set(i18n.RU)
    unused = sorted(key for key in i18n.RU if key not in literals and key not in dynamic)
    assert unused == []


def test_the_areas_are_modules_of_their_own_without_shared_keys():
    names = {area.__name__.rsplit(".", 1)[1] for area in i18n.AREAS}
    assert {"common", "login", "register", "recovery", "profile", "mail", "errors", "support"} <= names
    assert sum(len(area.RU) for area in i18n.AREAS) == len(i18n.RU)
    with pytest.raises(RuntimeError, match="two areas"):
        i18n._merge([importlib.import_module("lkk_app.i18n.login")] * 2)


def test_russian_words_live_in_the_catalogue():
    offenders = {}
    for value, places in _literals().items():
        if not CYRILLIC.search(value):
            continue
        places = [p for p in places
                  if p.split(":")[0].removeprefix("lkk_app/") not in RUSSIAN_ALLOWED
                  and not p.removeprefix("lkk_app/").startswith(RUSSIAN_ALLOWED_DIRS)]
        if places:
            offenders[value[:60]] = places
    assert offenders == {}


def test_the_scripts_texts_come_from_the_page():
    script = (ROOT / "assets" / "lkk.js").read_text(encoding="utf-8")
    code = "\n".join(line.split("//", 1)[0] for line in script.splitlines())
    strings = re.findall(r'"(?:[^"\\\n]|\\.)*"' + r"|'(?:[^'\\\n]|\\.)*'", code)
    assert len(strings) > 20
    # Russian letters only in the strength rules' patterns (/[а-яё]/), never in a text.
    assert [s for s in strings if CYRILLIC.search(s)] == []
    assert "data-empty-message" in script


def test_message_turns_codes_and_their_parameters_into_words():
    assert i18n.message(None) == ""
    assert i18n.message(Code("email.invalid")) == i18n.t("email.invalid")
    assert i18n.message(Code("profile.current_password_wrong_left", left=2)).endswith(
        "Неверных попыток до завершения сеанса: 2.")
    assert i18n.message(Code("profile.current_password_wait", wait=timedelta(seconds=125))) == (
        "Слишком много неверных попыток ввода текущего пароля. Повторите попытку через 2 мин 5 с.")
    assert i18n.wait_text(timedelta(seconds=0.2)) == "1 с"
    errors = FieldErrors({"login": Code("login_field.taken"), "phone": Code("phone.invalid")})
    assert i18n.messages(errors) == {"login": i18n.t("login_field.taken"), "phone": i18n.t("phone.invalid")}
    assert i18n.messages(errors.errors) == i18n.messages(errors)
    assert errors.codes() == {"login": "login_field.taken", "phone": "phone.invalid"}
    assert "Логин" not in str(errors) and "login_field.taken" in str(errors)
