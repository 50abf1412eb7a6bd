"""``python -m lkk_app.cli create-user`` (run as a real subprocess, SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from lkk_app import cli
from lkk_app import db as db_module
from lkk_app.i18n import t
from lkk_app.models import User
from lkk_app.auth import passwords
from lkk_app.settings import reload_settings


ROOT = Path(__file__).resolve().parents[2]
TEST_SECRET = "cli-test-secret-key-0123456789-abcdefghijk"
PASSWORD = "  Бухгалтерия 2025, пароль с пробелами  "


def cli_env(db_url: str, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)  # the autouse fixture has removed the settings variables
    env.update(
        {
            "LKK_DATA_DIR": str(data_dir),
            "REFLEX_DB_URL": db_url,
            "LKK_SECRET_KEY": TEST_SECRET,
            "LKK_BCRYPT_COST": "10",
            "PYTHONIOENCODING": "utf-8",
        }
    )
    return env


def run_cli(db_url: str, data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lkk_app.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        env=cli_env(db_url, data_dir),
        timeout=60,
    )


def all_users(db_url: str) -> list[User]:
    engine = db_module.make_engine(db_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(User).order_by(User.id)).all())
    finally:
        engine.dispose()


def test_create_user_from_stdin(db_url, tmp_path):
    result = run_cli(
        db_url, tmp_path,
        "create-user", "--login", "Admin.Buh", "--email", "Buh@Corp.ru", "--phone", "8 912 345-67-89",
        stdin=PASSWORD + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert "Admin.Buh" in result.stdout
    assert PASSWORD.strip() not in result.stdout + result.stderr
    [user] = all_users(db_url)
    assert (user.login, user.login_key, user.email, user.phone) == (
        "Admin.Buh", "admin.buh", "Buh@Corp.ru", "+79123456789"
    )
    assert user.email_confirmed_at is not None  # created confirmed
    assert passwords.hash_cost(user.password_hash) == 10
    # The whole first line is the password: surrounding spaces are kept.
    assert passwords.verify_password(PASSWORD, user.password_hash, secret_key=TEST_SECRET.encode())
    assert not passwords.verify_password(PASSWORD.strip(), user.password_hash, secret_key=TEST_SECRET.encode())


def test_only_the_first_line_is_read_and_crlf_is_removed(db_url, tmp_path):
    result = run_cli(
        db_url, tmp_path, "create-user", "--login", "ivan", "--email", "ivan@example.com",
        stdin="Первая-строка-пароль\r\nsecond line\n",
    )
    assert result.returncode == 0, result.stderr
    [user] = all_users(db_url)
    assert passwords.verify_password("Первая-строка-пароль", user.password_hash, secret_key=TEST_SECRET.encode())


def test_duplicate_login_is_refused(db_url, tmp_path):
    first = run_cli(db_url, tmp_path, "create-user", "--login", "ivan", "--email", "a@example.com", stdin="Pass-phrase-1\n")
    assert first.returncode == 0, first.stderr
    second = run_cli(db_url, tmp_path, "create-user", "--login", "IVAN", "--email", "b@example.com", stdin="Pass-phrase-2\n")
    assert second.returncode == 1
    assert t("cli.field_error", field=t("cli.field.login"), message=t("login_field.taken")) in second.stderr
    assert len(all_users(db_url)) == 1


def test_every_invalid_field_is_reported(db_url, tmp_path):
    result = run_cli(
        db_url, tmp_path, "create-user", "--login", "x", "--email", "nope", "--phone", "123", stdin="short\n"
    )
    assert result.returncode == 1
    for field, key in [
        ("cli.field.login", "login_field.length"),
        ("cli.field.email", "email.invalid"),
        ("cli.field.phone", "phone.invalid"),
        ("cli.field.password", "password.too_short"),
    ]:
        assert t("cli.field_error", field=t(field), message=t(key)) in result.stderr
    assert "short" not in result.stderr
    assert all_users(db_url) == []


def test_empty_stdin_means_empty_password(db_url, tmp_path):
    result = run_cli(db_url, tmp_path, "create-user", "--login", "ivan", "--email", "ivan@example.com", stdin="")
    assert result.returncode == 1
    assert t("password.empty") in result.stderr
    assert all_users(db_url) == []


def test_password_is_never_an_argument(db_url, tmp_path):
    result = run_cli(
        db_url, tmp_path, "create-user", "--login", "ivan", "--email", "ivan@example.com",
        "--password", "Secret-pass-1", stdin="Secret-pass-1\n",
    )
    assert result.returncode == 2  # argparse: unrecognised argument
    assert all_users(db_url) == []


def test_database_without_tables_is_a_clean_error(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = run_cli(url, tmp_path, "create-user", "--login", "ivan", "--email", "ivan@example.com", stdin="Pass-phrase-1\n")
    assert result.returncode == 2
    assert "Не удалось записать в базу данных" in result.stderr
    assert "Traceback" not in result.stderr
    assert "$2b$" not in result.stderr  # no password hash in the message


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answers", "code"), [(["Tty-pass-phrase-1", "Tty-pass-phrase-1"], 0), (["Tty-pass-phrase-1", "Tty-pass-phrase-2"], 1)])
def test_terminal_uses_getpass_twice(db_url, tmp_path, monkeypatch, capsys, answers, code):
    monkeypatch.setenv("REFLEX_DB_URL", db_url)
    monkeypatch.setenv("LKK_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("LKK_BCRYPT_COST", "10")
    reload_settings()
    db_module.reset_engine()
    prompts: list[str] = []
    replies = iter(answers)

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(replies)

    monkeypatch.setattr(cli.getpass, "getpass", fake_getpass)
    monkeypatch.setattr(sys, "stdin", _Terminal("never read\n"))
    assert cli.main(["create-user", "--login", "ivan", "--email", "ivan@example.com"]) == code
    db_module.reset_engine()
    assert prompts == [t("cli.password_prompt"), t("cli.password_repeat")]
    out = capsys.readouterr()
    if code == 0:
        [user] = all_users(db_url)
        assert passwords.verify_password("Tty-pass-phrase-1", user.password_hash, secret_key=TEST_SECRET.encode())
    else:
        assert t("password.mismatch") in out.err
        assert all_users(db_url) == []


def test_help_lists_the_command():
    result = subprocess.run(
        [sys.executable, "-m", "lkk_app.cli", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=60,
        encoding="utf-8",
    )
    assert result.returncode == 0
    assert "create-user" in result.stdout


