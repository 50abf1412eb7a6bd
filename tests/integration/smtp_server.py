"""A real SMTP server (aiosmtpd) on 127.0.0.1 whose answers a test controls.

    server = SmtpServer()          # picks a free port, not yet listening ("SMTP down")
    server.start()
    server.handler.tempfail_data = 2   # "451" to the next two DATA commands, then accept
    server.handler.reject_rcpt = True  # "550" to every RCPT TO
    server.handler.delay_data = 3.0    # keep the letter, answer the end of DATA 3 s later
    SmtpServer(smtputf8=True)          # offer SMTPUTF8 (off by default, like many servers)
    server.stop()                  # connections are refused again
    server.messages                # every accepted letter (parsed), in order

The server runs in its own thread (aiosmtpd's ``Controller``), so the code
under test talks to it over a real socket.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.policy
import socket
import threading
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclasses.dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    mail_options: list[str] = dataclasses.field(default_factory=list)

    @property
    def message(self) -> EmailMessage:
        return BytesParser(policy=email.policy.default).parsebytes(self.raw)  # type: ignore[return-value]

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""


class ControlledHandler:
    """aiosmtpd handler: accepts, temporarily fails (451) or rejects (550) on command."""

    def __init__(self) -> None:
        self.tempfail_rcpt = 0  # answer 451 to the next N RCPT TO
        self.tempfail_data = 0  # answer 451 to the next N DATA
        self.reject_rcpt = False  # answer 550 to every RCPT TO
        self.reject_data = False  # answer 550 to every DATA
        # Seconds between taking a letter and answering "250" (a slow server:
        # the letter is delivered even when the client has given up waiting).
        self.delay_data = 0.0
        self.delay_data_count = -1  # how many DATA commands are delayed; -1: all
        self.received: list[Received] = []
        self.transactions = 0  # MAIL FROM commands seen
        self._lock = threading.Lock()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self._lock:
            self.transactions += 1
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self._lock:
            if self.reject_rcpt:
                return "550 5.1.1 No such mailbox"
            if self.tempfail_rcpt > 0:
                self.tempfail_rcpt -= 1
                return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            if self.reject_data:
                return "550 5.7.1 Message rejected"
            if self.tempfail_data > 0:
                self.tempfail_data -= 1
                return "451 4.3.0 Temporary failure, try again later"
            content = envelope.original_content or envelope.content
            if isinstance(content, str):
                content = content.encode("utf-8")
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(content),
                                          list(envelope.mail_options)))
            delay = self.delay_data if self.delay_data_count != 0 else 0.0
            if self.delay_data_count > 0:
                self.delay_data_count -= 1
        if delay:
            await asyncio.sleep(delay)
        return "250 2.0.0 Accepted"


class SmtpServer:
    def __init__(self, host: str = "127.0.0.1", port: int | None = None, *, smtputf8: bool = False) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.smtputf8 = smtputf8
        self.handler = ControlledHandler()
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is None:
            controller = Controller(self.handler, hostname=self.host, port=self.port, ready_timeout=10,
                                    enable_SMTPUTF8=self.smtputf8)
            controller.start()
            self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def messages(self) -> list[Received]:
        return list(self.handler.received)

    def message_ids(self) -> list[str]:
        return [m.message_id for m in self.messages]
