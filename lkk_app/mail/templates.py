"""Letters: subject, plain text and HTML from the files in ``lkk_app/templates/mail/``.

Every letter lives there as two files, ``<name>.txt`` (first line
``Subject: …``, a blank line, then the text) and ``<name>.html`` (the HTML
body), wrapped in ``_layout.txt`` / ``_layout.html``, which add the
signature.  Placeholders are :class:`string.Template` ones (``$login``).

Values are inserted as they are into the subject and text, and through
``html.escape`` into the HTML.  Control characters (line breaks included) are
replaced by spaces everywhere, so a parameter can neither add a header nor
forge a line such as ``Новый пароль: …``.

The one-time secret is not a parameter: it is passed separately to
:func:`render`, which turns it into ``$link`` (``{public_url}/confirm/{token}``)
or ``$password``.  Parameters named like a secret are refused, so that no
secret can end up in the outbox's stored parameters.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import string
from collections.abc import Mapping
from pathlib import Path

from lkk_app import routes
from lkk_app.auth.validation import format_phone, phone_link
from lkk_app.core.text import clean
from lkk_app.i18n import t
from lkk_app.settings import get_settings

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "mail"

# Kinds of secret a letter carries (names, not secrets).
SECRET_LINK = "link"  # noqa: S105
SECRET_PASSWORD = "password"  # noqa: S105
SECRET_CODE = "code"  # noqa: S105

# Parameter names that would hold a secret; refused in params.
RESERVED_PARAMS = frozenset({"link", "password", "token", "secret", "temp_password", "code"})

MAX_PARAM_LENGTH = 500


class MailTemplateError(ValueError):
    """Unknown template, missing parameter or missing secret (a programming error)."""


@dataclasses.dataclass(frozen=True)
class TemplateSpec:
    name: str
    # What the one-time secret becomes: SECRET_LINK, SECRET_PASSWORD, SECRET_CODE or None.
    secret: str | None
    # Parameters the caller must give (public_url, email and signature are
    # filled in by the sender / render).
    required: tuple[str, ...]
    # A letter with a table: the catalogue keys of its column headings; the rows
    # come as the parameter ``rows`` (lists of texts) and stand at ``$table``.
    columns: tuple[str, ...] = ()
    # Parameters the template shows when given (empty when not).
    optional: tuple[str, ...] = ()
    # Parameters added later: a letter queued before them shows «—» in their place.
    later: tuple[str, ...] = ()


TEMPLATES: dict[str, TemplateSpec] = {
    "confirm_email": TemplateSpec("confirm_email", SECRET_LINK, ("login",)),
    "temp_password": TemplateSpec("temp_password", SECRET_PASSWORD, ("login",)),
    "password_changed": TemplateSpec("password_changed", None, ("login",), later=("time", "ip", "device")),
    "binding_code": TemplateSpec("binding_code", SECRET_CODE, ("login", "contract", "organisation")),
    "binding_access_request": TemplateSpec("binding_access_request", None,
                                           ("login", "requester", "requester_email", "contract", "organisation")),
    "password_guesses": TemplateSpec("password_guesses", None,
                                     ("login", "attempts", "ip", "device", "started", "time")),
    "readings_receipt": TemplateSpec("readings_receipt", None,
                                     ("login", "organisation", "contract", "period", "as_of", "time", "count",
                                      "status"),
                                     columns=("mail.col_point", "mail.col_meter", "mail.col_zone",
                                              "mail.col_value", "mail.col_consumption"), optional=("more",)),
    "new_documents": TemplateSpec("new_documents", None, ("login", "count", "address", "profile"),
                                  columns=("mail.col_contract", "mail.col_document", "mail.col_number",
                                           "mail.col_date", "mail.col_amount"), optional=("more",)),
    "readings_window_open": TemplateSpec("readings_window_open", None, ("login", "count", "address", "profile"),
                                         columns=("mail.col_contract", "mail.col_month", "mail.col_until"),
                                         optional=("more",)),
    "readings_window_closing": TemplateSpec("readings_window_closing", None,
                                            ("login", "count", "address", "profile"),
                                            columns=("mail.col_contract", "mail.col_month", "mail.col_until"),
                                            optional=("more",)),
    "debt_appeared": TemplateSpec("debt_appeared", None, ("login", "count", "address", "profile"),
                                  columns=("mail.col_contract", "mail.col_overdue", "mail.col_due"),
                                  optional=("more",)),
    "reconciliation_ready": TemplateSpec("reconciliation_ready", None,
                                         ("login", "contract", "number", "period", "address")),
}
MAX_ROWS = 200


def confirm_link(public_url: str, token: str) -> str:
    """The e-mail confirmation link of the letter."""
    return public_url.rstrip("/") + routes.confirm_link(token)


@functools.cache
def _read(name: str) -> str:
    return (TEMPLATE_DIR / name).read_text(encoding="utf-8")


@functools.cache
def _load(name: str) -> tuple[string.Template, string.Template, string.Template]:
    """(subject, text body, html body) templates of a letter."""
    raw = _read(f"{name}.txt").replace("\r\n", "\n")
    first, _, body = raw.partition("\n")
    if not first.startswith("Subject:"):
        raise MailTemplateError(f"{name}.txt must start with a 'Subject:' line")
    return (
        string.Template(first[len("Subject:"):].strip()),
        string.Template(body.strip("\n")),
        string.Template(_read(f"{name}.html").strip("\n")),
    )


def _clean(value: object) -> str:
    text = "" if value is None else str(value)
    return clean(text, MAX_PARAM_LENGTH, collapse=True).strip()


def check_params(template: str, params: Mapping[str, object]) -> TemplateSpec:
    """The template's spec; :class:`MailTemplateError` when the template is unknown,
    a required parameter is missing or a parameter is named like a secret."""
    spec = TEMPLATES.get(template)
    if spec is None:
        raise MailTemplateError(f"unknown mail template {template!r}")
    reserved = RESERVED_PARAMS.intersection(params)
    if reserved:
        raise MailTemplateError(
            f"parameters {sorted(reserved)} look like secrets; the sender mints secrets itself"
        )
    missing = [name for name in spec.required if not _clean(params.get(name))]
    if missing:
        raise MailTemplateError(f"template {template!r} needs parameters {missing}")
    if spec.columns:
        rows = params.get("rows")
        if not isinstance(rows, list) or len(rows) > MAX_ROWS or not all(
                isinstance(row, list) and len(row) == len(spec.columns) for row in rows):
            raise MailTemplateError(f"template {template!r} needs rows of {len(spec.columns)} texts, "
                                    f"at most {MAX_ROWS}")
    return spec


def _tables(spec: TemplateSpec, rows: object) -> tuple[str, str]:
    """The rows as plain-text lines and as an HTML table (cells escaped)."""
    if not spec.columns or not isinstance(rows, list):
        return "", ""
    cells = [[_clean(cell) for cell in row] for row in rows]
    headings = [t(key) for key in spec.columns]
    text = "\n".join(" | ".join(row) for row in cells)
    cell_style = 'style="padding:4px 8px;border-bottom:1px solid #d9dee3;text-align:left;vertical-align:top;"'
    head = "".join(f"<th {cell_style}>{html.escape(h)}</th>" for h in headings)
    body = "".join("<tr>" + "".join(f"<td {cell_style}>{html.escape(c)}</td>" for c in row) + "</tr>"
                   for row in cells)
    table = (f'<table style="border-collapse:collapse;width:100%;font-size:14px;">'
             f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return text, table


def render(
    template: str, params: Mapping[str, object], secret: str | None = None
) -> tuple[str, str, str]:
    """``(subject, text, html)`` of a letter.

    ``params`` are the stored parameters plus ``public_url`` (the cabinet's
    pages), ``server_url`` (the server's routes, when on another site) and
    ``email`` (the sender adds them).  Every letter is signed by the supplier:
    its name (``supplier_name`` when given, else ``LKK_SUPPLIER_NAME``), the
    support phones (shown as ``+7 800 000-00-00``), e-mail and hours
    (``LKK_SUPPORT_*``).  ``secret`` is required exactly for the templates
    that carry one.
    """
    spec = check_params(template, params)
    if spec.secret and not secret:
        raise MailTemplateError(f"template {template!r} needs its one-time secret")

    table_text, table_html = _tables(spec, params.get("rows"))
    values = {key: _clean(value) for key, value in params.items() if key != "rows"}
    values.setdefault("public_url", "")
    values.setdefault("email", "")
    for name in spec.optional:
        values.setdefault(name, "")
    for name in spec.later:
        values[name] = values.get(name) or "—"
    supplier = get_settings()
    values["signature"] = values.get("supplier_name") or supplier.supplier_name
    values.setdefault("support_phones", _clean(", ".join(format_phone(p) for p in supplier.support_phones)))
    values.setdefault("support_email", _clean(supplier.support_email))
    values.setdefault("support_hours", _clean(supplier.support_hours))
    if spec.secret == SECRET_LINK:
        values["link"] = confirm_link(values.get("server_url") or values["public_url"], _clean(secret))
    elif spec.secret == SECRET_PASSWORD:
        values["password"] = _clean(secret)
    elif spec.secret == SECRET_CODE:
        values["code"] = _clean(secret)

    subject_t, text_t, html_t = _load(template)
    escaped = {key: html.escape(value, quote=True) for key, value in values.items()}
    values["table"], escaped["table"] = table_text, table_html
    escaped["support_phones_html"] = ", ".join(
        f'<a href="{html.escape(phone_link(p), quote=True)}">{html.escape(format_phone(p))}</a>'
        for p in supplier.support_phones)
    try:
        subject = subject_t.substitute(values)
        text_body = text_t.substitute(values)
        html_body = html_t.substitute(escaped)
    except (KeyError, ValueError) as exc:
        raise MailTemplateError(f"template {template!r}: bad placeholder {exc}") from exc

    text = string.Template(_read("_layout.txt")).substitute(values, body=text_body)
    html_text = string.Template(_read("_layout.html")).substitute(
        escaped, body=html_body, subject=html.escape(subject))
    return subject, text, html_text
