"""Print the path of a Chromium for the browser tests, installing one if needed.

Order: $LKK_CHROMIUM, /usr/bin/chromium, `apt-get install chromium` (root on
Debian), then `python -m playwright install chromium`.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path


def _log(msg: str) -> None:
    print(msg, file=sys.stderr)


def _playwright_chromium() -> str | None:
    base = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH", Path.home() / ".cache/ms-playwright"))
    found = sorted(glob.glob(str(base / "chromium-*/chrome-linux*/chrome")))
    return found[-1] if found else None


def find_or_install() -> str:
    env = os.environ.get("LKK_CHROMIUM", "").strip()
    if env:
        if os.access(env, os.X_OK):
            return env
        raise SystemExit(f"LKK_CHROMIUM={env} is not an executable file")
    for candidate in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    if os.geteuid() == 0 and shutil.which("apt-get"):
        _log("Installing Chromium with apt-get …")
        quiet = {"DEBIAN_FRONTEND": "noninteractive", **os.environ}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=quiet)
        rc = subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium", "fonts-dejavu-core"], env=quiet
        ).returncode
        if rc == 0 and os.access("/usr/bin/chromium", os.X_OK):
            return "/usr/bin/chromium"
    existing = _playwright_chromium()
    if existing:
        return existing
    _log("Installing Chromium with Playwright …")
    subprocess.run([sys.executable, "-m", "playwright", "install", "chromium"], check=False)
    existing = _playwright_chromium()
    if existing:
        return existing
    raise SystemExit("No Chromium found: set LKK_CHROMIUM to a Chromium/Chrome binary")


if __name__ == "__main__":
    print(find_or_install())
