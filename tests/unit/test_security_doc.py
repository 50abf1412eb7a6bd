"""SECURITY.md names real code and real tests.

Every path it gives — ``lkk_app/…``, a module relative to ``lkk_app/`` in the
tables' code column (``auth/login.py: log_in``), a test relative to ``tests/``
(``unit/test_x.py::test_y``) — must exist, and so must every function, class
or constant named after it.  A renamed module or test makes this fail until
SECURITY.md follows.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "SECURITY.md"
TEST_TIERS = ("unit", "integration", "browser", "attack", "billing")
CODE_AREAS = ("auth", "billing", "components", "core", "i18n", "jobs", "mail", "pages", "state", "web")
CODE_FILES = ("cpu_pools.py", "db.py", "logs.py", "models.py", "routes.py", "settings.py", "cli.py")

# `path`, `path::test_name`, `path: name, name2` inside backticks; `::test_name`
# alone is another test of the file named last before it.
REFERENCE = re.compile(r"`((?:lkk_app/|tests/|[a-z_]+/)?[\w/.-]+?\.py|lkk_app/[\w/.-]*|)"
                       r"(?:::(\w+)|: ([\w, ]+))?`")


def _resolve(path: str) -> Path | None:
    """The file or folder a reference means, or None when it is no project path."""
    if path.startswith(("lkk_app/", "tests/")):
        return ROOT / path
    first, _, rest = path.partition("/")
    name = path.rsplit("/", 1)[-1]
    if first in TEST_TIERS and name.startswith("test_"):
        return ROOT / "tests" / path
    if first in CODE_AREAS and rest:
        return ROOT / "lkk_app" / path
    if path in CODE_FILES:
        return ROOT / "lkk_app" / path
    return None


def _defines(source: str, name: str) -> bool:
    return re.search(rf"^\s*(?:async\s+)?(?:def|class)\s+{name}\b|^\s*{name}\s*[:=]", source,
                     re.MULTILINE) is not None


def references(text: str) -> list[tuple[str, Path, list[str]]]:
    found = []
    last: Path | None = None
    for match in REFERENCE.finditer(text):
        path, test, names = match.group(1), match.group(2), match.group(3)
        if not path:
            if test is None or last is None:
                continue
            target = last
        else:
            target = _resolve(path.rstrip("/"))
            if target is None:
                continue
            last = target
        wanted = [test] if test else [n.strip() for n in (names or "").split(",") if n.strip()]
        found.append((match.group(0), target, wanted))
    return found


def missing(text: str) -> list[str]:
    problems = []
    for ref, target, names in references(text):
        if not target.exists():
            problems.append(f"{ref}: {target.relative_to(ROOT)} does not exist")
            continue
        if names and target.is_file():
            source = target.read_text(encoding="utf-8")
            problems += [f"{ref}: {target.relative_to(ROOT)} defines no {name}"
                         for name in names if not _defines(source, name)]
    return problems


def test_every_path_and_name_in_security_md_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert len(references(text)) > 100  # the tables are read, not skipped
    problems = missing(text)
    assert not problems, "SECURITY.md names what is not there:\n" + "\n".join(problems)


def test_every_defence_table_names_code_and_tests() -> None:
    text = DOC.read_text(encoding="utf-8")
    headers = [line for line in text.splitlines() if line.startswith("| defence |")]
    assert len(headers) >= 10
    for header in headers:
        cells = [c.strip() for c in header.strip("|").split("|")]
        assert "code" in cells and cells[-1] == "proof", header


@pytest.mark.parametrize("ref", [
    "`lkk_app/auth/nowhere.py`",
    "`auth/login.py: no_such_function`",
    "`unit/test_missing_tier_file.py`",
    "`unit/test_throttle.py::test_that_was_never_written`",
    "`web/asgi/absent.py: HostCheck`",
    "`unit/test_throttle.py::test_racing_reservations_never_pass_the_rule`, `::test_not_there`",
])
def test_a_wrong_reference_is_reported(ref: str) -> None:
    assert missing(f"| x | {ref} |")


@pytest.mark.parametrize("ref", [
    "`lkk_app/web/asgi/`",
    "`auth/login.py: log_in, LoginOutcome`",
    "`unit/test_throttle.py`",
    "`billing/test_gateway_contract.py::test_notify_binding_is_idempotent`",
    "`billing/binding.py: require_contract`",
    "`cpu_pools.py: PASSWORDS`",
    "`unit/test_login_lockout.py`, `::test_the_device_cookie`",
])
def test_a_right_reference_is_accepted(ref: str) -> None:
    assert references(ref) and not missing(ref)
