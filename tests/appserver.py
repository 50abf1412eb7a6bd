"""Start the real app, built in production mode, on a free port with its own
data directory: for the browser tests, the benchmarks and the guide screenshots.

The frontend is built into ``.web-test`` (``LKK_TEST_WEB_WORKDIR``) so that it
does not disturb ``make run``'s ``.web``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclasses.dataclass
class AppServer:
    url: str
    port: int
    env: dict[str, str]
    data_dir: Path
    log_path: Path
    # The process group of the server (``reflex run`` and its workers).
    pgid: int = 0

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def processes(self) -> list[tuple[Path, list[str]]]:
        """Every live process of the server: its /proc folder and the fields of its
        ``stat`` after the name (state, ppid, pgrp, …, utime 12th, stime 13th)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == self.pgid:
                found.append((stat.parent, fields))
        return found

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by every live process of the server."""
        ticks = sum(int(fields[11]) + int(fields[12]) for _, fields in self.processes())
        return ticks / os.sysconf("SC_CLK_TCK")


def wait_ready(url: str, proc: subprocess.Popen, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url + "/ping", timeout=2) as r1:
                if r1.status == 200:
                    with urllib.request.urlopen(url + "/", timeout=5) as r2:
                        if r2.status == 200:
                            return
        except OSError:
            pass
        time.sleep(1)
    raise RuntimeError(f"app not ready after {timeout}s:\n{log_path.read_text()[-4000:]}")


def server_env(port: int, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items()
        if not (k.startswith("LKK_") or k.startswith("REFLEX_")) or k == "LKK_CHROMIUM"
    }
    env.update(
        PATH=f"{VENV_BIN}:{env.get('PATH', '')}",
        REFLEX_USE_NPM="1",
        REFLEX_WEB_WORKDIR=os.environ.get("LKK_TEST_WEB_WORKDIR", ".web-test"),
        LKK_ENV="development",
        LKK_DATA_DIR=str(data_dir),
        REFLEX_DB_URL=f"sqlite:///{data_dir / 'lkk.db'}",
        LKK_PUBLIC_URL=f"http://localhost:{port}",
        LKK_BCRYPT_COST="10",
    )
    env.update(extra)
    return env



@contextlib.contextmanager
def running_app(data_dir: Path, **extra_env: str) -> Iterator[AppServer]:
    """Migrate a fresh database, start the server, wait until it answers, stop it at the end."""
    port = free_port()
    env = server_env(port, data_dir, **extra_env)
    subprocess.run([str(VENV_BIN / "reflex"), "db", "migrate"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    log_path = data_dir / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(VENV_BIN / "reflex"), "run", "--env", "prod", "--single-port",
             "--frontend-port", str(port), "--backend-port", str(port), "--loglevel", "info"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        wait_ready(f"http://localhost:{port}", proc, log_path, timeout=900)
        yield AppServer(f"http://localhost:{port}", port, env, data_dir, log_path, pgid=proc.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):  # a test may have stopped it already
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def using_server_database(server: AppServer) -> Iterator[None]:
    """Point this process's settings and engine at a running server's database
    (to arrange data for a test), and back afterwards."""
    from lkk_app import db, settings

    keys = [k for k in server.env if k.startswith(("LKK_", "REFLEX_"))]
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: server.env[k] for k in keys})
    settings.reload_settings()
    db.reset_engine()
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        settings.reload_settings()
        db.reset_engine()
