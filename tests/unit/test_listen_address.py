"""The development server listens on this computer only unless told otherwise
(its /dev/mail shows letters with confirmation links and temporary passwords)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "5NhWVkFF-ly2Iwk_ElwwZlhcc-A32WvsOem_BQTyPTg"


def _run_command(**env: str) -> list[str]:
    """The `reflex run` command `make run` would execute (make -n runs nothing)."""
    make = shutil.which("make")
    assert make, "make is needed to run the project"
    base = {k: v for k, v in os.environ.items() if k not in ("HOST", "PORT", "MAKEFLAGS", "MFLAGS")}
    out = subprocess.run([make, "-n", "run"], cwd=ROOT, env={**base, **env}, capture_output=True,
                         text=True, check=True, timeout=60).stdout
    lines = [line for line in out.splitlines() if "reflex run" in line]
    assert len(lines) == 1, out
    return shlex.split(lines[0])


def _option(command: list[str], name: str) -> str:
    assert command.count(name) == 1, command
    return command[command.index(name) + 1]


def test_make_run_listens_on_loopback_by_default():
    assert _option(_run_command(), "--backend-host") == "127.0.0.1"


def test_make_run_listens_where_told():
    command = _run_command(HOST="0.0.0.0", PORT="3100")
    assert _option(command, "--backend-host") == "0.0.0.0"
    assert _option(command, "--backend-port") == "3100"


@pytest.mark.parametrize("env,expected", [
    ({}, "127.0.0.1"),
    ({"REFLEX_BACKEND_HOST": "0.0.0.0"}, "0.0.0.0"),
    ({"LKK_ENV": "production", "LKK_SECRET_KEY": STRONG_KEY, "LKK_PUBLIC_URL": "https://lkk.example.ru",
      "LKK_SMTP_HOST": "smtp.example.ru", "LKK_BILLING_ADAPTER": "demo"}, "0.0.0.0"),
])
def test_plain_reflex_run_follows_the_environment(tmp_path, env, expected):
    """`reflex run` without --backend-host: loopback in development, every
    interface in production (behind its proxy), REFLEX_BACKEND_HOST wins."""
    code = "import rxconfig; print(rxconfig.config.backend_host)"
    full = {"PATH": "/usr/bin:/bin", "LKK_DATA_DIR": str(tmp_path), **env}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=full, capture_output=True,
                         text=True, check=True, timeout=60).stdout
    assert out.strip().splitlines()[-1] == expected


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "None"),
    ({"REFLEX_REDIS_URL": "redis://127.0.0.1:6379/0"}, "true"),
    ({"REFLEX_REDIS_URL": "redis://127.0.0.1:6379/0", "REFLEX_OPLOCK_ENABLED": "false"}, "false"),
])
def test_with_redis_a_worker_keeps_its_tabs_state_between_events(tmp_path, env, expected):
    """Reflex's opportunistic lock is on with the Redis state manager (bench/README.md:
    a Redis round trip per event cost 4.5× the CPU); a setting of its own wins."""
    code = "import os, rxconfig; print(os.environ.get('REFLEX_OPLOCK_ENABLED'))"
    full = {"PATH": "/usr/bin:/bin", "LKK_DATA_DIR": str(tmp_path), **env}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=full, capture_output=True,
                         text=True, check=True, timeout=60).stdout
    assert out.strip().splitlines()[-1] == expected


def test_make_run_serves_the_public_address_of_its_port():
    """`PORT=3100 make run`: the public address follows the port (a fixed :3000 left the
    websocket refused), unless LKK_PUBLIC_URL names one."""
    out = subprocess.run(["make", "-n", "run", "PORT=3100"], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=60, env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"}).stdout
    line = next(x for x in out.splitlines() if "reflex run" in x or "LKK_PUBLIC_URL=" in x)
    assert 'LKK_PUBLIC_URL="${LKK_PUBLIC_URL:-http://localhost:3100}"' in out, line
    assert "--frontend-port 3100 --backend-port 3100" in out
