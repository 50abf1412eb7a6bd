"""Закладка «Документы»: the chosen contract's documents — filters (kind, period,
status), the order by date, pages; «Скачать» one PDF or the selected ones as a
.zip (links to the file routes, which check the session and the ownership
again); «Запросить акт сверки» and the act's way from «готовится» to issued,
followed live for a minute after the request.

Every handler works as the tab's user through ``lkk_app.billing.documents``,
whose functions start with the ownership check."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date

import reflex as rx
from sqlmodel import Session

from lkk_app import routes
from lkk_app.auth.sessions import CurrentUser
from lkk_app.billing import background, documents, store, sync
from lkk_app.billing.binding import BindingError
from lkk_app.billing.pdf import printable
from lkk_app.billing.readings.rules import month_start
from lkk_app.billing.reconciliation import FAILED, ReconciliationRequest
from lkk_app.billing.types import Document, DocumentKind, DocumentStatus
from lkk_app.core.errors import FieldErrors
from lkk_app.core.formatting import date_text, local_datetime, local_today, month_text, number
from lkk_app.i18n import label, message, messages, t
from lkk_app.settings import get_settings
from lkk_app.state.base import SignedOut, read_form
from lkk_app.state.cabinet import CabinetState, chosen, contract_choices

PAGE_SIZE = 20
FOLLOW_SECONDS = 90  # how long the tab follows an act asked for
FOLLOW_STEP = 3


@dataclasses.dataclass
class DocumentRow:
    key: str = ""
    kind: str = ""
    number: str = ""
    issued: str = ""
    period: str = ""
    amount: str = ""
    vat: str = ""
    status: str = ""
    status_kind: str = ""  # ok | wait | old
    href: str = ""  # the PDF ("" while it is being prepared)
    note: str = ""  # a reversal and its replacement


@dataclasses.dataclass
class RequestRow:
    period: str = ""
    asked: str = ""
    status: str = ""
    failed: bool = False


@dataclasses.dataclass
class Option:
    value: str = ""
    text: str = ""


# The kinds and statuses the filters offer («все» first).
KIND_OPTIONS = (DocumentKind.VAT_INVOICE, DocumentKind.TRANSFER_ACT, DocumentKind.INVOICE,
                DocumentKind.PLAN_INVOICE, DocumentKind.RECONCILIATION_ACT)
STATUS_OPTIONS = (DocumentStatus.ISSUED, DocumentStatus.PREPARING, DocumentStatus.REVERSED)
STATUS_KIND = {DocumentStatus.ISSUED: "ok", DocumentStatus.PREPARING: "wait", DocumentStatus.REVERSED: "old"}


MONTHS_BACK = 60  # the months the period fields offer


def month_options(valid_from: date, today: date) -> list[Option]:
    """The months from this one back to the contract's start (at most five years),
    newest first: value «2026-11», text «ноябрь 2026»."""
    first = max(month_start(valid_from), month_start(today, -MONTHS_BACK))
    found, month = [], month_start(today)
    while month >= first:
        found.append(Option(f"{month:%Y-%m}", month_text(month)))
        month = month_start(month, -1)
    return found


def period_text(doc_from: date, doc_to: date) -> str:
    """«ноябрь 2026» for a month, «01.01.2026 – 30.11.2026» otherwise."""
    if doc_from.day == 1 and doc_to == documents.month_end(doc_from):
        return month_text(doc_from)
    return t("documents.period_range", start=date_text(doc_from), end=date_text(doc_to))


def money_text(value) -> str:
    return t("documents.rub", value=number(value, 2))


def _row(doc: Document, replaced: dict[str, Document]) -> DocumentRow:
    """A row of the list; ``replaced``: the new version of each reversed document."""
    note = ""
    if doc.replaces_key:
        note = t("documents.replaces_note")
    elif doc.key in replaced:
        note = t("documents.reversed_note", number=replaced[doc.key].number)
    return DocumentRow(
        key=doc.key, kind=label(doc.kind), number=doc.number, issued=date_text(doc.issued_on),
        period=period_text(doc.period_from, doc.period_to),
        amount=money_text(doc.amount) if doc.status is not DocumentStatus.PREPARING else "—",
        vat=t("documents.vat_value", rate=number(doc.vat_rate.normalize()), value=number(doc.vat, 2))
        if doc.vat_rate else "",
        status=label(doc.status), status_kind=STATUS_KIND.get(doc.status, "ok"),
        href=routes.server_address(routes.document_file(doc.key)) if printable(doc) else "", note=note)


def _request_row(r: ReconciliationRequest) -> RequestRow:
    return RequestRow(
        period=t("documents.period_range", start=date_text(r.period_from), end=date_text(r.period_to)),
        asked=t("documents.asked", login=r.user_login, date=local_datetime(r.requested_at)),
        status=t("documents.request_failed") if r.status == FAILED else label(DocumentStatus.PREPARING),
        failed=r.status == FAILED)


# --------------------------------------------------------------------------- work as the user


def _load(db: Session, me: CurrentUser, requested: str, current: str, shown: documents.Filter, offset: int):
    choices = contract_choices(db, me)
    key = chosen(choices, requested, current)
    if not key:
        return choices, None, {}, False
    page = documents.documents_page(db, me.id, key, shown, offset=offset, limit=PAGE_SIZE)
    # The new versions of the reversed documents on the page (for the note).
    replaced = {d.key: new for d in page.documents if d.status is DocumentStatus.REVERSED
                and (new := store.replacement_of(db, d.key)) is not None}
    return choices, page, replaced, sync.copy_is_stale(db, get_settings().billing_sync_minutes)


def _request(db: Session, me: CurrentUser, contract_key: str, month_from: str, month_to: str):
    return documents.request_reconciliation(db, me.id, me.login, contract_key, month_from, month_to,
                                            today=local_today())


class DocumentsState(CabinetState):
    loaded: bool = False
    contract_number: str = ""
    rows: list[DocumentRow] = []
    requests: list[RequestRow] = []
    total: int = 0
    offset: int = 0
    kind: str = ""
    status: str = ""
    month_from: str = ""
    month_to: str = ""
    newest_first: bool = True
    months: list[Option] = []
    errors: dict[str, str] = {}
    selected: list[str] = []
    # «Запросить акт сверки»
    act_from: str = ""
    act_to: str = ""
    act_errors: dict[str, str] = {}
    act_message: str = ""
    act_busy: bool = False
    following: bool = False

    @rx.var
    def kind_options(self) -> list[Option]:
        return [Option("", t("documents.all_kinds"))] + [Option(k.value, label(k)) for k in KIND_OPTIONS]

    @rx.var
    def status_options(self) -> list[Option]:
        return [Option("", t("documents.all_statuses"))] + [Option(s.value, label(s)) for s in STATUS_OPTIONS]

    @rx.var
    def any_months(self) -> list[Option]:
        return [Option("", t("documents.any_month")), *self.months]

    @rx.var
    def zip_href(self) -> str:
        return routes.server_address(routes.documents_zip(self.selected)) if self.selected else ""

    @rx.var
    def page_keys(self) -> list[str]:
        return [r.key for r in self.rows if r.href]

    @rx.var
    def filtered(self) -> bool:
        return bool(self.kind or self.status or self.month_from or self.month_to)

    def _clear(self) -> None:
        self.loaded = False
        self.rows, self.requests, self.total, self.offset, self.selected = [], [], 0, 0, []

    def _filter(self) -> documents.Filter:
        try:
            return documents.parse_filter(self.kind, self.status, self.month_from, self.month_to, self.newest_first)
        except FieldErrors:
            return documents.Filter(newest_first=self.newest_first)

    async def _reload(self, requested: str = "") -> None:
        choices, page, replaced, stale = await self._run_as_user(_load, requested, self.contract_key,
                                                                 self._filter(), self.offset)
        self._choose(choices, page.contract.key if page else "")
        self.loaded = True
        if page is None:
            self.rows, self.requests, self.total, self.contract_number = [], [], 0, ""
            return
        self.contract_number = page.contract.number
        self.months = month_options(page.contract.valid_from, local_today())
        values = [o.value for o in self.months]
        if self.act_from not in values:
            self.act_from = values[-1] if values else ""
        if self.act_to not in values:
            self.act_to = values[1] if len(values) > 1 else self.act_from
        self.rows = [_row(d, replaced) for d in page.documents]
        self.requests = [_request_row(r) for r in page.requests]
        self.total = page.total
        self._fresh(page.as_of, page.billing_down, stale)

    def _default_act_period(self) -> None:
        today = local_today()
        last = month_start(today, -1)
        self.act_from, self.act_to = f"{last.year}-01", f"{last:%Y-%m}"

    @rx.event
    async def on_load(self):
        self.notice, self.offset, self.selected, self.errors = "", 0, [], {}
        self.kind = self.status = self.month_from = self.month_to = ""
        self.act_errors, self.act_message = {}, ""
        self._default_act_period()
        return await self._run(self._asked())

    @rx.event
    async def choose_contract(self, key: str):
        self.notice, self.offset, self.selected, self.act_message = "", 0, [], ""
        return await self._run(str(key)[:40])

    @rx.event
    async def apply_filter(self, form_data: dict):
        values = read_form(form_data, ("kind", "status", "month_from", "month_to"),
                           strip=("month_from", "month_to"))
        try:
            documents.parse_filter(values["kind"], values["status"], values["month_from"], values["month_to"])
        except FieldErrors as bad:
            self.errors = messages(bad)
            return rx.set_focus(f"doc-{next(iter(bad.errors)).replace('_', '-')}")
        self.errors = {}
        self.kind, self.status = values["kind"][:40], values["status"][:40]
        self.month_from, self.month_to = values["month_from"][:20], values["month_to"][:20]
        self.offset, self.selected = 0, []
        return await self._run()

    @rx.event
    async def reset_filter(self):
        self.kind = self.status = self.month_from = self.month_to = ""
        self.errors, self.offset, self.selected = {}, 0, []
        return await self._run()

    @rx.event
    async def toggle_order(self):
        self.newest_first = not self.newest_first
        self.offset = 0
        return await self._run()

    @rx.event
    async def show_page(self, offset: int):
        self.offset = max(0, min(int(offset) if isinstance(offset, int) else 0, max(self.total - 1, 0)))
        return await self._run()

    @rx.event
    def toggle(self, key: str):
        key = str(key)[:40]
        if key in self.selected:
            self.selected = [k for k in self.selected if k != key]
        elif key in self.page_keys and len(self.selected) < documents.ZIP_MAX:
            self.selected = [*self.selected, key]

    @rx.event
    def select_page(self):
        keys = [k for k in self.page_keys if k not in self.selected]
        self.selected = (self.selected + keys)[:documents.ZIP_MAX]

    @rx.event
    def clear_selection(self):
        self.selected = []

    # ------------------------------------------------------------------ «Запросить акт сверки»

    @rx.event
    async def request_act(self, form_data: dict):
        if self.act_busy:
            return
        values = read_form(form_data, ("act_from", "act_to"), strip=("act_from", "act_to"))
        self.act_from, self.act_to = values["act_from"][:20], values["act_to"][:20]
        self.act_errors, self.act_message = {}, ""
        self.act_busy = True
        yield
        try:
            await self._run_as_user(_request, self.contract_key, self.act_from, self.act_to)
        except SignedOut as gone:
            self.act_busy = False
            yield self._signed_out(gone)
            return
        except FieldErrors as bad:
            self.act_busy = False
            self.act_errors = messages(bad)
            yield rx.set_focus(f"act-{next(iter(bad.errors)).removeprefix('month_')}")
            return
        except BindingError as refused:
            self.act_busy = False
            self.act_message = message(refused.reason)
            return
        self.act_busy = False
        self.act_message = t("documents.act_requested")
        await self._run()
        background.request_sync()
        if not self.following:
            yield DocumentsState.follow_act

    @rx.event(background=True)
    async def follow_act(self):
        """For a while after a request: ask for a sync and reload every few seconds
        until no act is «готовится» any more."""
        async with self:
            if self.following:
                return
            self.following = True
        try:
            for _ in range(FOLLOW_SECONDS // FOLLOW_STEP):
                await asyncio.sleep(FOLLOW_STEP)
                background.request_sync()
                async with self:
                    await self._run()
                    waiting = any(not r.failed for r in self.requests) or any(
                        r.status_kind == "wait" for r in self.rows)
                    if not waiting:
                        self.act_message = t("documents.act_ready")
                        break
        finally:
            async with self:
                self.following = False
