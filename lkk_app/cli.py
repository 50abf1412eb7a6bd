"""Administrator commands.

    python -m lkk_app.cli create-user --login L --email E [--phone P]
    python -m lkk_app.cli billing sync | status | demo-reset
    python -m lkk_app.cli binding-code --contract Д-1001

The password is never taken from the command line (it would show in ``ps``
and shell history): it is asked twice with ``getpass`` on a terminal, otherwise
read from the first line of standard input (``printf '%s\\n' "$PW" | …``).
The account is created with its e-mail already confirmed.  The database must
already have its tables (``reflex db migrate``).

Exit codes: 0 done, 1 invalid input (messages per field), 2 configuration or
database problem.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from lkk_app.i18n import messages, t

_FIELD_LABELS = {
    "login": "cli.field.login",
    "email": "cli.field.email",
    "phone": "cli.field.phone",
    "password": "cli.field.password",
}


def _read_password(stdin: TextIO) -> tuple[str | None, str | None]:
    """``(password, None)`` or ``(None, error message)``."""
    if stdin.isatty():
        first = getpass.getpass(t("cli.password_prompt"))
        second = getpass.getpass(t("cli.password_repeat"))
        if first != second:
            return None, t("password.mismatch")
        return first, None
    line = stdin.readline()
    # Only the line end is removed: spaces are part of a password.
    if line.endswith("\n"):
        line = line[:-1]
    if line.endswith("\r"):
        line = line[:-1]
    return line, None


def _print_field_errors(errors: dict[str, str], out: TextIO) -> None:
    for field, message in errors.items():
        label_key = _FIELD_LABELS.get(field)
        label = t(label_key) if label_key else field
        print(t("cli.field_error", field=label, message=message), file=out)


def create_user_command(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from lkk_app import db
    from lkk_app.auth import users
    from lkk_app.core.errors import FieldErrors
    from lkk_app.settings import SettingsError, get_settings

    try:
        settings = get_settings()
    except SettingsError as exc:
        print(t("cli.settings_error", message=str(exc)), file=sys.stderr)
        return 2

    password, problem = _read_password(sys.stdin)
    if problem is not None:
        _print_field_errors({"password": problem}, sys.stderr)
        return 1

    try:
        with db.session_scope() as session:
            user = users.create_user(
                session,
                login=args.login,
                email=args.email,
                phone=args.phone,
                password=password or "",
                confirmed=True,
                settings=settings,
            )
            login, user_id = user.login, user.id
    except FieldErrors as exc:
        _print_field_errors(messages(exc), sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        # Only the driver's own first line: the full SQLAlchemy message would
        # list the statement's parameters, the password hash among them.
        orig = getattr(exc, "orig", None) or exc
        detail = f"{type(orig).__name__}: {str(orig).splitlines()[0] if str(orig) else ''}"
        print(t("cli.db_error", detail=detail), file=sys.stderr)
        return 2
    print(t("cli.user_created", login=login, id=user_id))
    return 0


def static_headers_command(args: argparse.Namespace) -> int:
    """The headers for the static host of ``reflex export``'s pages (README «Demo deployment»)."""
    from pathlib import Path

    from lkk_app.settings import get_settings
    from lkk_app.web.asgi.headers import static_site_headers

    pages = Path(args.dir)
    if not (pages / "index.html").is_file():
        print(t("cli.static_headers.no_pages", dir=str(pages)), file=sys.stderr)
        return 2
    for name, value in static_site_headers(get_settings(), pages):
        print(f"{name}: {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lkk_app.cli", description=t("cli.description"))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    create = commands.add_parser(
        "create-user", help=t("cli.create_user.help"), description=t("cli.create_user.help")
    )
    create.add_argument("--login", required=True, help=t("cli.field.login"))
    create.add_argument("--email", required=True, help=t("cli.field.email"))
    create.add_argument("--phone", default=None, help=t("cli.field.phone"))
    create.set_defaults(handler=create_user_command)
    headers = commands.add_parser(
        "static-headers", help=t("cli.static_headers.help"), description=t("cli.static_headers.help"))
    headers.add_argument("--dir", default=".web/build/client", help=t("cli.field.pages_dir"))
    headers.set_defaults(handler=static_headers_command)
    from lkk_app.billing import commands as billing_commands

    billing_commands.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
