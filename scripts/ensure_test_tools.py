"""Make sure the outside tools are there; print the Chromium path.

* espeak-ng, the speech synthesiser of «Прослушать код» (the authorization
  code spoken, ``lkk_app/auth/captcha_audio.py``): `apt-get install espeak-ng`
  when it is not on PATH.  ``--run`` (``make setup``, hence ``make run``) does
  only this and only warns when it cannot (the page then says the spoken code
  is unavailable); for the tests it must be there, else this script fails.
* A Cyrillic font for building the guides (DejaVu Sans, Debian's
  fonts-dejavu-core), unless LKK_GUIDE_FONT names one.
* Chromium for the browser tests, in this order: $LKK_CHROMIUM,
  /usr/bin/chromium, `apt-get install chromium` (root on Debian), then
  `python -m playwright install chromium`.
* tesseract for the OCR attack on the authorization code
  (tests/integration/test_captcha_ocr.py): `apt-get install tesseract-ocr`
  when it is not on PATH; without it this script fails.
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


DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _can_apt() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def _apt_install(*packages: str) -> bool:
    quiet = {"DEBIAN_FRONTEND": "noninteractive", **os.environ}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=quiet,
                   stdout=subprocess.DEVNULL)
    return subprocess.run(["apt-get", "install", "-y", "-qq", *packages], env=quiet,
                          stdout=subprocess.DEVNULL).returncode == 0


def ensure_font() -> None:
    if os.environ.get("LKK_GUIDE_FONT") or os.path.isfile(DEJAVU):
        return
    if _can_apt():
        _log("Installing fonts-dejavu-core with apt-get …")
        _apt_install("fonts-dejavu-core")
    if not os.path.isfile(DEJAVU):
        _log("No DejaVu Sans: the guide build tests will fail (set LKK_GUIDE_FONT)")


def ensure_tesseract() -> None:
    if shutil.which("tesseract"):
        return
    if _can_apt():
        _log("Installing tesseract-ocr with apt-get …")
        _apt_install("tesseract-ocr")
    if not shutil.which("tesseract"):
        raise SystemExit("No tesseract: install Debian's tesseract-ocr (apt-get install "
                         "tesseract-ocr) — tests/integration/test_captcha_ocr.py needs it")


def ensure_espeak(required: bool) -> None:
    if shutil.which("espeak-ng"):
        return
    if _can_apt():
        _log("Installing espeak-ng with apt-get …")
        _apt_install("espeak-ng")
    if shutil.which("espeak-ng"):
        return
    message = ("No espeak-ng: «Прослушать код» (the spoken authorization code) needs Debian's "
               "espeak-ng (apt-get install espeak-ng)")
    if required:
        raise SystemExit(message + " — tests/unit/test_captcha_audio.py checks it")
    _log(message + "; the pages say the spoken code is unavailable")


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
    if _can_apt():
        _log("Installing Chromium with apt-get …")
        if _apt_install("chromium") and os.access("/usr/bin/chromium", os.X_OK):
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
    if sys.argv[1:] == ["--run"]:
        ensure_espeak(required=False)
        raise SystemExit(0)
    ensure_espeak(required=True)
    ensure_font()
    ensure_tesseract()
    print(find_or_install())
