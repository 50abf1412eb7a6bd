"""An attacker in a process of its own: several raw Socket.IO clients send one
event as fast as their sockets take it, connecting again whenever the server
closes one, then disconnect.  A separate process, so that measuring a
bystander in the test process is not slowed by the attacker's own CPU.

    python -m tests.attack.flooder URL EVENT PATH --sockets 6 --seconds 2 --reconnects 200

Prints ``ready`` once its sockets are connected (the flood starts right
after), then one JSON line: events sent per socket, reconnections, refusals.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from tests.attack.reflex_client import LoopThread, ReflexClient, flood_all

    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("event")
    parser.add_argument("path")
    parser.add_argument("--sockets", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--reconnects", type=int, default=200)
    parser.add_argument("--max-events", type=int, default=100_000)
    args = parser.parse_args()
    loop = LoopThread()
    clients = [ReflexClient(loop, args.url, origin=args.url).connect() for _ in range(args.sockets)]
    print("ready", flush=True)
    sent = flood_all(loop, clients, args.event, path=args.path, seconds=args.seconds,
                     max_events=args.max_events, reconnects=args.reconnects)
    result = {"sent": sent, "reconnects": sum(c.reconnects for c in clients),
              "refused": sum(c.refused for c in clients)}
    for c in clients:
        c.close()
    loop.close()
    print(json.dumps(result), flush=True)


def start(url: str, event: str, path: str, *, sockets: int = 6, seconds: float = 2.0,
          reconnects: int = 200, timeout: float = 60) -> subprocess.Popen:
    """Run the flooder in a child process and return once its flood begins;
    read its result with :func:`result`."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.attack.flooder", url, event, path, "--sockets", str(sockets),
         "--seconds", str(seconds), "--reconnects", str(reconnects)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    seen: list[str] = []
    for _ in range(200):  # bounded: Reflex may print a few lines while importing
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if not line or line.strip() == "ready":
            break
        seen.append(line)
    else:
        proc.kill()
    assert proc.poll() is None, f"the flooder did not start: {''.join(seen)[-2000:]}"
    return proc


def result(proc: subprocess.Popen, timeout: float = 90) -> dict:
    out, _ = proc.communicate(timeout=timeout)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    assert proc.returncode == 0 and lines, f"the flooder failed: {out[-2000:]}"
    return json.loads(lines[-1])


if __name__ == "__main__":
    main()
