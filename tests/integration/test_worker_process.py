"""``python -m lkk_app.jobs.worker`` in a process of its own: a sender that never
imports the web side (HTTP routes, states, Reflex) still mints and sends the
temporary password of a recovery letter — the letter secrets' minters are
registered when the sender is made, not by importing some module."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lkk_app.auth import recovery, users
from lkk_app.settings import reload_settings

ROOT = Path(__file__).resolve().parents[2]

RUN_WORKER = """
import runpy, sys
try:
    runpy.run_module("lkk_app.jobs.worker", run_name="__main__")
except SystemExit as exit:
    code = exit.code
web = sorted(m for m in sys.modules
             if m in ("reflex", "lkk_app.lkk_app")
             or m.startswith(("reflex.", "lkk_app.web", "lkk_app.state", "lkk_app.pages")))
print("web modules:", web)
sys.exit(code)
"""


@pytest.mark.timeout(120)
def test_a_worker_without_the_web_modules_sends_a_recovery_letter(
    db, db_url, smtp_server, tmp_path, monkeypatch
):
    env = {
        "LKK_DATA_DIR": str(tmp_path),
        "LKK_SECRET_KEY": "worker-process-test-key-0123456789-abcdef",
        "REFLEX_DB_URL": db_url,
        "LKK_SMTP_HOST": "127.0.0.1",
        "LKK_SMTP_PORT": str(smtp_server.port),
        "LKK_SMTP_TLS": "none",
        "LKK_MAIL_FROM": "ЛКК <no-reply@lkk.test>",
        "LKK_PUBLIC_URL": "http://lkk.test",
        "LKK_BCRYPT_COST": "10",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = reload_settings()
    user = users.create_user(db, login="Sokolov", email="sokolov@example.com",
                             password="Старый добрый пароль 7", confirmed=True, settings=settings)
    recovery.request_reset(db, login="sokolov", email="SOKOLOV@example.com", ip="192.0.2.10",
                           settings=settings)
    db.commit()

    result = subprocess.run(
        [sys.executable, "-c", RUN_WORKER, "--once"],
        capture_output=True, text=True, cwd=ROOT, timeout=90,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert "web modules: []" in result.stdout, result.stdout

    (letter,) = smtp_server.messages
    assert letter.rcpt_tos == ["sokolov@example.com"]
    lines = [line for line in letter.text.splitlines() if line.startswith("Новый пароль: ")]
    assert len(lines) == 1, letter.text
    password = lines[0].removeprefix("Новый пароль: ")
    db.expire_all()
    found = recovery.authenticate_temp(db, login="Sokolov", password=password, settings=settings)
    assert found is not None and found.id == user.id
