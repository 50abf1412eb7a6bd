"""Handing one letter to the SMTP server (aiosmtplib), and what its errors mean.

Each command waits ``LKK_SMTP_TIMEOUT`` (15 s) for its reply, the end of DATA
``LKK_SMTP_DATA_TIMEOUT`` (600 s, RFC 5321 4.5.3.2.6); TLS as configured.
Addresses go into the envelope and the ``To`` header with their domain in
IDNA (``пример.рф`` → ``xn--e1afmkfd.xn--p1ai``); a non-ASCII local part needs
the server's SMTPUTF8, and without it the letter is failed at once (retrying
cannot help).  Network errors, time-outs and 4xx replies are for retrying,
5xx replies fail the letter (:func:`classify_error`).

The letter's bytes come from :func:`letter_bytes` with :data:`LETTER_POLICY`:
``email.policy.SMTP`` except for the folding of a non-ASCII ``Subject``
(see :class:`LetterPolicy`).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import email.generator
import email.policy
import io
from email.header import Header
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import idna

from lkk_app.jobs.queue import FAILED as RESULT_FAILED
from lkk_app.jobs.queue import RETRY as RESULT_RETRY
from lkk_app.settings import SMTP_TLS_STARTTLS, SMTP_TLS_TLS, Settings

# Unstructured headers whose text may be Russian (the others are ASCII or addresses).
_TEXT_HEADERS = frozenset({"subject"})


class LetterPolicy(email.policy.EmailPolicy):
    """``email.policy.SMTP`` (``SMTPUTF8`` with ``utf8=True``), except that a
    non-ASCII ``Subject`` without SMTPUTF8 is written as RFC 2047 encoded words
    by :class:`email.header.Header`, which keeps the spaces *inside* the
    encoded words.  The standard folder can close one encoded word after a
    word and open the next with the following word, leaving the space between
    two encoded words, where RFC 2047 (6.2) tells every reader to drop it: the
    subject «…приём показаний приборов учёта…» arrived as «…показанийприборов…»."""

    def _encoded(self, name: str, value: Any) -> str | None:
        """The header as encoded words, or ``None`` when the standard folding is right."""
        text = str(value)
        if self.utf8 or text.isascii() or name.lower() not in _TEXT_HEADERS:
            return None
        encoded = Header(text, "utf-8", maxlinelen=self.max_line_length, header_name=name)
        return f"{name}: {encoded.encode(linesep=self.linesep)}{self.linesep}"

    def fold(self, name: str, value: Any) -> str:
        encoded = self._encoded(name, value)
        return super().fold(name, value) if encoded is None else encoded

    def fold_binary(self, name: str, value: Any) -> bytes:
        encoded = self._encoded(name, value)
        return super().fold_binary(name, value) if encoded is None else encoded.encode("ascii")


LETTER_POLICY = LetterPolicy(linesep="\r\n")


def letter_bytes(message: EmailMessage, *, utf8: bool = False, cte_type: str = "8bit",
                 linesep: str = "\r\n") -> bytes:
    """The letter as it goes over SMTP (``Bcc`` left out): with ``utf8`` the
    headers stay UTF-8 (the server offered SMTPUTF8), ``cte_type='7bit'`` when
    it did not offer 8BITMIME."""
    policy = LETTER_POLICY.clone(utf8=utf8, cte_type=cte_type, linesep=linesep)
    letter = copy.copy(message)
    del letter["Bcc"]
    with io.BytesIO() as out:
        email.generator.BytesGenerator(out, policy=policy).flatten(letter)
        return out.getvalue()


class PermanentMailError(Exception):
    """The letter cannot be delivered as it is, and retrying will not change
    that (an address whose domain has no IDNA form, a non-ASCII local part for
    a server without SMTPUTF8)."""


def ascii_domain(domain: str) -> str:
    """A mail domain in its ASCII form: IDNA 2008 with UTS #46 mapping
    (``пример.рф`` → ``xn--e1afmkfd.xn--p1ai``); an address literal as it is."""
    if domain.startswith("[") or domain.isascii():
        return domain
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise PermanentMailError(f"the domain {domain!r} has no IDNA form: {exc}") from exc


def smtp_address(address: str) -> tuple[str, bool]:
    """``(address with its domain in IDNA, whether its local part needs SMTPUTF8)``."""
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise PermanentMailError(f"not an e-mail address: {address!r}")
    return f"{local}@{ascii_domain(domain)}", not local.isascii()


def classify_error(exc: BaseException) -> str:
    """``'retry'`` for network errors, time-outs and 4xx; ``'failed'`` for 5xx
    and :class:`PermanentMailError`.

    A refused login (``SMTPAuthenticationError``) and a server without
    STARTTLS (``SMTPNotSupported``) are our configuration, not the letter's
    fault: retried, so letters go out once the setting is fixed.
    """
    if isinstance(exc, PermanentMailError):
        return RESULT_FAILED
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        return RESULT_RETRY if codes and all(400 <= c < 500 for c in codes) else RESULT_FAILED
    if isinstance(exc, (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected,
                        aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPAuthenticationError,
                        aiosmtplib.SMTPNotSupported)):
        return RESULT_RETRY
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return RESULT_FAILED if exc.code >= 500 else RESULT_RETRY
    return RESULT_RETRY  # OSError, TimeoutError and the unexpected: until the letter expires


def conversation_bound(settings: Settings) -> float:
    """Seconds one SMTP conversation may take at most: connect, EHLO,
    STARTTLS, EHLO, AUTH, MAIL, RCPT and QUIT at ``smtp_timeout`` each, DATA
    at ``smtp_data_timeout``."""
    return settings.smtp_timeout * 8 + max(settings.smtp_data_timeout, settings.smtp_timeout)


async def send_smtp(message: EmailMessage, recipient: str, settings: Settings) -> None:
    """One SMTP conversation for one letter, command by command so that the end
    of DATA gets its RFC 5321 time-out while the other commands keep the short one."""
    rcpt, rcpt_utf8 = smtp_address(recipient)
    sender, sender_utf8 = smtp_address(settings.mail_from_address)
    utf8 = rcpt_utf8 or sender_utf8
    kwargs: dict = {
        "hostname": settings.smtp_host.strip("[]"),
        "port": settings.smtp_port,
        "timeout": settings.smtp_timeout,
    }
    if settings.smtp_user:
        kwargs["username"] = settings.smtp_user
        kwargs["password"] = settings.smtp_password
    if settings.smtp_tls == SMTP_TLS_TLS:
        kwargs.update(use_tls=True, start_tls=False)
    elif settings.smtp_tls == SMTP_TLS_STARTTLS:
        kwargs.update(use_tls=False, start_tls=True)
    else:
        kwargs.update(use_tls=False, start_tls=False)
    smtp = aiosmtplib.SMTP(**kwargs)

    async def conversation() -> None:
        await smtp.connect()
        if smtp.is_ehlo_or_helo_needed:
            await smtp.ehlo()
        if utf8 and not smtp.supports_extension("smtputf8"):
            raise PermanentMailError(
                "the address has a non-ASCII local part and the server does not offer SMTPUTF8")
        options = ["SMTPUTF8"] if utf8 else []
        eight_bit = smtp.supports_extension("8bitmime")
        if eight_bit:
            options.append("BODY=8BITMIME")
        data = letter_bytes(message, utf8=utf8, cte_type="8bit" if eight_bit else "7bit")
        encoding = "utf-8" if utf8 else "ascii"
        await smtp.mail(sender, options=options, encoding=encoding)
        await smtp.rcpt(rcpt, encoding=encoding)
        await smtp.data(data, timeout=max(settings.smtp_data_timeout, settings.smtp_timeout))
        with contextlib.suppress(aiosmtplib.SMTPException, OSError):  # the letter is accepted already
            await smtp.quit()

    try:
        await asyncio.wait_for(conversation(), timeout=conversation_bound(settings))
    finally:
        smtp.close()
