"""How ``reflex run --env prod`` starts the server (read by ``rxconfig.py``;
nothing here imports gunicorn, which some systems cannot load).

Reflex runs gunicorn as a child process and waits for it.  A SIGTERM sent to
the ``reflex`` process alone (a supervisor that signals one pid, ``docker stop``
with ``reflex`` as pid 1) would end ``reflex`` and leave gunicorn serving the
port: :func:`forward_termination` passes it on to the children, which stop
gracefully, and ``reflex`` ends after them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

WORKER_CLASS = "lkk_app.web.asgi.server.Worker"
# The app's own shutdown waits up to 20 s for a letter being sent (jobs/worker.py),
# then Reflex writes the tabs' state back: gunicorn waits longer before it kills.
GRACEFUL_TIMEOUT = 30
# A worker whose event loop has not told the master it is alive for this long is restarted.
WORKER_TIMEOUT = 120
# Longer than a proxy's idle upstream connection (nginx: 60 s), or the proxy may
# send a request on a connection the server is closing.
KEEP_ALIVE = 75
# The kernel's list of processes (Linux).
_PROC = Path(os.sep, "proc")


def gunicorn_args(workers: int, given: str = "") -> str:
    """GUNICORN_CMD_ARGS: ours, then what the operator gave (gunicorn takes the
    last of a repeated option) — except the worker class, always ours."""
    if WORKER_CLASS in given:  # already ours (a child process reading its parent's value)
        return given
    ours = (f"--worker-class {WORKER_CLASS} --workers {workers} --graceful-timeout {GRACEFUL_TIMEOUT} "
            f"--timeout {WORKER_TIMEOUT} --keep-alive {KEEP_ALIVE}")
    return f"{ours} {given} --worker-class {WORKER_CLASS}".replace("  ", " ") if given else ours


def is_reflex_run() -> bool:
    """This process is the ``reflex run`` command (not gunicorn, not a worker)."""
    return Path(sys.argv[0]).name == "reflex" and sys.argv[1:2] == ["run"]


def _children() -> list[int]:
    me = os.getpid()
    found = []
    for stat in _PROC.glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == me:
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def _forward(signum: int, _frame: object) -> None:
    for pid in _children():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def forward_termination() -> None:
    """SIGTERM to ``reflex run`` goes to its children (gunicorn's master); Reflex's
    wait for them then returns and the command ends."""
    if _PROC.is_dir():
        signal.signal(signal.SIGTERM, _forward)
