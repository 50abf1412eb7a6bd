"""The development mailbox: without ``LKK_SMTP_HOST`` letters are written as
``.eml`` files into ``mail_dir`` (readable by the owner only) instead of being
sent, and ``/dev/mail`` lists them (:func:`list_dev_mail`).

The confirmation link of a letter is logged on purpose outside production, so
that a developer can register without opening the file.
"""

from __future__ import annotations

import email.policy
import email.utils
import logging
import os
import uuid
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path

from lkk_app.core import clock
from lkk_app.mail import transport
from lkk_app.settings import ENV_PRODUCTION, Settings

log = logging.getLogger("lkk.mail")


def _file_name(pk: int) -> str:
    return f"{clock.utcnow():%Y%m%dT%H%M%S%f}Z-{pk:08d}.eml"


def write_letter(pk: int, recipient: str, message: EmailMessage, settings: Settings, *,
                 link: str | None = None) -> Path:
    """Write letter ``pk`` to ``mail_dir`` atomically (temporary file, then rename)."""
    directory = Path(settings.mail_dir)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / _file_name(pk)
    tmp = directory / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
    data = transport.letter_bytes(message, linesep="\n")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    extra = ""
    if link and settings.env != ENV_PRODUCTION:
        extra = f"; confirmation link: {link}"
    log.info("dev mailbox: mail #%d to %s saved as %s%s", pk, recipient, path, extra)
    return path


def mail_to(mail_dir: Path | str, address: str, *, scan: int = 1000, limit: int = 20) -> list[dict]:
    """The newest ``limit`` letters to ``address`` (exactly, any case) among the
    newest ``scan`` files: only the headers of the others are read."""
    directory = Path(mail_dir)
    if not directory.is_dir() or not address:
        return []
    wanted = address.lower()
    files = sorted((p for p in directory.glob("*.eml") if not p.name.startswith(".")),
                   key=lambda p: p.name, reverse=True)[: max(scan, 0)]
    headers = BytesHeaderParser(policy=email.policy.default)
    matching: list[Path] = []
    for path in files:
        try:
            with path.open("rb") as fh:
                to = str(headers.parse(fh).get("To", ""))
        except (OSError, ValueError, LookupError):
            continue
        if any(addr.lower() == wanted for _name, addr in email.utils.getaddresses([to])):
            matching.append(path)
            if len(matching) >= limit:
                break
    return [letter for path in matching for letter in _read_letters([path])]


def list_dev_mail(mail_dir: Path | str, *, limit: int = 100) -> list[dict]:
    """Letters of the development mailbox, newest first.

    Each is ``{"file", "date", "to", "subject", "message_id", "text", "html"}``
    (``date`` is the ``Date`` header as written, ``text``/``html`` the decoded
    parts).  Unreadable files are skipped; a missing directory gives ``[]``.
    """
    directory = Path(mail_dir)
    if not directory.is_dir():
        return []
    files = sorted(
        (p for p in directory.glob("*.eml") if not p.name.startswith(".")),
        key=lambda p: p.name,
        reverse=True,
    )[: max(limit, 0)]
    return _read_letters(files)


def _read_letters(files: list[Path]) -> list[dict]:
    letters: list[dict] = []
    parser = BytesParser(policy=email.policy.default)
    for path in files:
        try:
            with path.open("rb") as fh:
                msg = parser.parse(fh)
            text_part = msg.get_body(preferencelist=("plain",))
            html_part = msg.get_body(preferencelist=("html",))
            letters.append(
                {
                    "file": path.name,
                    "date": str(msg.get("Date", "")),
                    "to": str(msg.get("To", "")),
                    "subject": str(msg.get("Subject", "")),
                    "message_id": str(msg.get("Message-ID", "")),
                    "text": text_part.get_content() if text_part is not None else "",
                    "html": html_part.get_content() if html_part is not None else "",
                }
            )
        except (OSError, ValueError, LookupError) as exc:
            log.warning("dev mailbox: cannot read %s: %s", path.name, exc)
    return letters
