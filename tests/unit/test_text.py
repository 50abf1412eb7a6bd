"""One bound on raw input and one notion of a control character (lkk_app/core/text.py)."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

from lkk_app.core import text

ROOT = Path(__file__).resolve().parents[2]
CONTROLS = [chr(c) for c in range(0x20)] + [chr(c) for c in range(0x7f, 0xa0)] + ["\u2028", "\u2029"]


@pytest.mark.parametrize("ch", CONTROLS)
def test_every_control_character_is_found_and_replaced(ch):
    value = f"ab{ch}cd"
    assert text.contains_control(value)
    assert text.clean(value) == "ab cd"
    assert text.clean(value, replacement="") == "abcd"
    assert text.escape_control(value) == f"ab\\x{ord(ch):02x}cd"


@pytest.mark.parametrize("value", ["", "Иван Петров", "a\u00a0b", "tab-free", "😀", "\u200b", "a\\nb"])
def test_other_text_is_left_alone(value):
    assert not text.contains_control(value)
    assert text.clean(value) == value
    assert text.escape_control(value) == value


def test_each_character_or_each_run_becomes_one_replacement():
    assert text.clean("a\r\n\tb\x00") == "a   b "
    assert text.clean("a\r\n\tb\x00", collapse=True) == "a b "
    assert text.escape_control("a\r\nb") == "a\\x0d\\x0ab"
    assert text.escape_control("\u2028") == "\\x2028"


def test_clean_cuts_to_the_limit_and_refuses_what_is_not_a_string():
    assert text.clean("x" * 100, 10) == "x" * 10
    assert text.clean("\x00" * 5 + "abc", 10, replacement="") == "abc"
    assert text.clean(None, 10) == "" and text.clean(12345, 10) == "" and text.clean(b"abc") == ""


def test_a_huge_value_costs_no_more_than_its_limit():
    huge = "\x00a" * 5_000_000
    started = time.perf_counter()
    assert text.clean(huge, 100) == " a" * 50
    assert text.clean(huge, 100, collapse=True) == " a" * 50
    assert time.perf_counter() - started < 0.5


def test_max_input_is_defined_once():
    """No other module of the app defines its own MAX_INPUT."""
    owners = []
    for path in sorted((ROOT / "lkk_app").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "MAX_INPUT" for t in node.targets):
                owners.append(path.relative_to(ROOT).as_posix())
    assert owners == ["lkk_app/core/text.py"]
    assert text.MAX_INPUT == 1024


def test_control_characters_are_matched_in_one_place():
    """No other module of the app has its own control-character pattern."""
    owners = sorted(path.relative_to(ROOT).as_posix()
                    for path in (ROOT / "lkk_app").rglob("*.py")
                    if r"\x00-\x1f" in path.read_text(encoding="utf-8"))
    assert owners == ["lkk_app/core/text.py"]
