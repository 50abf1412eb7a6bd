"""The cabinet's «Договоры» tab: the organisation's bound contracts
(:class:`ContractsState`, from the read copy), a contract's card, «Отвязать
договор», and «Привязать договор» step by step (:class:`BindPanel`).

Every handler works as the tab's user: the list is the user's organisations'
only, and the card and unbinding go through ``binding.require_contract``
(another organisation's key is «Договор не найден»)."""

from __future__ import annotations

import dataclasses
import functools
from decimal import Decimal

import reflex as rx
from sqlmodel import Session

from lkk_app.auth.sessions import CurrentUser
from lkk_app.auth.validation import format_phone
from lkk_app.billing import background, binding, binding_flow, binding_rules, organisation, sync
from lkk_app.billing.binding import BindingError
from lkk_app.billing.types import Contract
from lkk_app.core.errors import FieldErrors
from lkk_app.core.formatting import local_datetime
from lkk_app.i18n import label, message, messages, t
from lkk_app.jobs.worker import wake_mail_sender
from lkk_app.settings import get_settings
from lkk_app.state.base import AuthState, SignedOut, read_form, submit_form

PAGE_SIZE = 50
BIND_FIELDS = ("inn", "kpp", "number")


def kw(value: Decimal) -> str:
    """``Decimal("120.50")`` → «120,5 кВт»."""
    text = format(value.normalize(), "f")
    whole, _, frac = text.partition(".")
    grouped = f"{int(whole):,}".replace(",", "\u00a0")
    return t("contracts.kw", value=grouped + ("," + frac if frac else ""))


def date_text(value) -> str:
    return value.strftime("%d.%m.%Y") if value else ""


@dataclasses.dataclass
class ContractRow:
    """One line of the list (what the page shows; the key is checked again on the server)."""

    key: str = ""
    number: str = ""
    signed: str = ""
    kind: str = ""
    status: str = ""
    active: bool = True
    category: str = ""
    voltage: str = ""
    power: str = ""
    points: str = ""


@dataclasses.dataclass
class ContractCard(ContractRow):
    """The row's facts and the rest of the contract's card."""

    valid: str = ""
    payment: str = ""
    department: str = ""
    curator_name: str = ""
    curator_phone: str = ""
    curator_email: str = ""
    window: str = ""


@dataclasses.dataclass
class OrganisationRow:
    """An organisation the user administers, with its notification address."""

    key: str = ""
    name: str = ""
    email: str = ""


@dataclasses.dataclass
class OfferedContract:
    key: str = ""
    number: str = ""
    kind: str = ""


def _row(c: Contract) -> ContractRow:
    return ContractRow(key=c.key, number=c.number, signed=date_text(c.signed_on), kind=label(c.kind),
                       status=label(c.status), active=c.status.value == "active",
                       category=str(c.price_category), voltage=label(c.voltage), power=kw(c.max_power_kw),
                       points=str(c.points))


def _card(c: Contract) -> ContractCard:
    valid = t("contracts.valid_from_to", start=date_text(c.valid_from), end=date_text(c.valid_to)) \
        if c.valid_to else t("contracts.valid_from", start=date_text(c.valid_from))
    window = (t("contracts.window", first=c.reading_window.first_day, last=c.reading_window.last_day)
              if c.reading_window else t("contracts.window_default"))
    return ContractCard(
        **dataclasses.asdict(_row(c)), valid=valid, payment=label(c.payment_regime), department=c.department,
        curator_name=c.curator.name, curator_phone=format_phone(c.curator.phone), curator_email=c.curator.email,
        window=window)


# --------------------------------------------------------------------------- work as the user


def _organisations(db: Session, me: CurrentUser) -> list[OrganisationRow]:
    return [OrganisationRow(o.organisation_key, o.name, o.email) for o in organisation.administered(db, me.id)]


def _list(db: Session, me: CurrentUser, offset: int) -> tuple[binding.ContractPage, bool, list[OrganisationRow]]:
    """One page of the list, whether the user administers an organisation, and those organisations."""
    page = binding.bound_contracts(db, me.id, offset=offset, limit=PAGE_SIZE)
    administered = _organisations(db, me)
    return page, bool(administered), administered


def _stale(db: Session, me: CurrentUser) -> bool:
    """The copy is older than the sync interval (asked in the same worker-thread hop)."""
    return sync.copy_is_stale(db, get_settings().billing_sync_minutes)


def _list_and_age(db: Session, me: CurrentUser, offset: int):
    return _list(db, me, offset), _stale(db, me)


def _open(db: Session, me: CurrentUser, key: object) -> tuple[Contract, bool, bool] | BindingError:
    try:
        bound = binding.require_contract(db, me.id, key)
    except BindingError as refused:
        return refused
    contract = binding.store.contract(db, bound.contract_key)
    if contract is None:
        return BindingError("contract.not_found")
    admin = binding.role_in(db, me.id, bound.organisation_key) == binding.ADMINISTRATOR
    return contract, admin, _stale(db, me)


def _me(db: Session, me: CurrentUser) -> CurrentUser:
    return me


class ContractsState(AuthState):
    """The list, the open card and its «Отвязать договор»."""

    loaded: bool = False
    rows: list[ContractRow] = []
    total: int = 0
    offset: int = 0
    as_of: str = ""
    billing_down: bool = False
    is_admin: bool = False
    card: ContractCard = ContractCard()
    card_open: bool = False
    card_admin: bool = False
    card_message: str = ""
    confirm_unbind: bool = False
    unbind_busy: bool = False
    notice: str = ""
    organisations: list[OrganisationRow] = []

    def _clear(self) -> None:
        self.loaded = False
        self.rows = []
        self.total = self.offset = 0
        self.as_of = ""
        self.card = ContractCard()
        self.card_open = self.confirm_unbind = self.card_admin = False
        self.card_message = self.notice = ""

    def _set_page(self, result: tuple[binding.ContractPage, bool, list[OrganisationRow]]) -> None:
        page, admin, self.organisations = result
        self.rows = [_row(c) for c in page.contracts]
        self.total = page.total
        self.as_of = local_datetime(page.as_of) if page.as_of else ""
        self.billing_down = page.billing_down
        self.is_admin = admin
        self.loaded = True

    async def _reload(self) -> None:
        self._set_page(await self._run_as_user(_list, self.offset))

    @rx.event
    async def on_load(self):
        (await self.get_state(BindPanel)).reset()
        self.card_open = self.confirm_unbind = False
        self.card_message = self.notice = ""
        self.offset = 0
        try:
            listed, stale = await self._run_as_user(_list_and_age, self.offset)
        except SignedOut as gone:
            return self._signed_out(gone)
        self._set_page(listed)
        if stale:
            background.request_sync()
        return None

    @rx.event
    async def show_page(self, offset: int):
        self.offset = max(0, min(int(offset) if isinstance(offset, int) else 0, max(self.total - 1, 0)))
        try:
            await self._reload()
        except SignedOut as gone:
            return self._signed_out(gone)
        return None

    @rx.event
    async def open_card(self, key: str):
        self.card_message = ""
        self.confirm_unbind = False
        try:
            result = await self._run_as_user(_open, key)
        except SignedOut as gone:
            return self._signed_out(gone)
        if isinstance(result, BindingError):
            self.card_open = False
            self.notice = message(result.reason)
            return None
        contract, admin, stale = result
        if stale:  # an old copy: a fresh pass, shown at the next look
            background.request_sync()
        self.card = _card(contract)
        self.card_admin = admin
        self.card_open = True
        return rx.set_focus("contract-card")

    @rx.event
    def close_card(self):
        self.card_open = self.confirm_unbind = False

    @rx.event
    def ask_unbind(self):
        self.confirm_unbind = self.card_open and self.card_admin

    @rx.event
    def cancel_unbind(self):
        self.confirm_unbind = False

    @rx.event
    async def unbind(self):
        key = self.card.key

        async def work():
            me = await self._run_as_user(_me)
            try:
                return await binding_flow.unbind_contract(user_id=me.id, contract_key=key)
            except BindingError as refused:
                return refused

        async for event in submit_form(self, "unbind_busy", work, self._unbound):
            yield event

    async def _unbound(self, result: str | BindingError) -> None:
        self.confirm_unbind = False
        if isinstance(result, BindingError):
            self.card_message = message(result.reason)
            return
        self.card_open = False
        self.notice = t("contracts.unbound", number=result)
        await self._reload()


class BindPanel(ContractsState):
    """«Привязать договор»: the form, the code, the other contracts."""

    step: str = ""  # "" closed | form | code | done
    inn_value: str = ""
    errors: dict[str, str] = {}  # field (inn, kpp, number, code) → message
    form_message: str = ""
    request_id: int = 0
    contract_number: str = ""
    masked_email: str = ""
    code_message: str = ""
    bind_busy: bool = False
    organisation_key: str = ""
    organisation_name: str = ""
    bound_text: str = ""
    offered: list[OfferedContract] = []
    more_message: str = ""

    @rx.var
    def kpp_needed(self) -> bool:
        return binding_rules.needs_kpp(self.inn_value)

    def _errors_clear(self) -> None:
        self.errors = {}
        self.form_message = self.code_message = self.more_message = ""

    @rx.event
    def start(self):
        self.reset()
        self.step = "form"
        return rx.set_focus("inn")

    @rx.event
    def cancel(self):
        self.reset()

    @rx.event
    def set_inn(self, value: str):
        self.inn_value = str(value or "")[:32]

    async def _as_me(self, fn, **kwargs):
        """``fn(gateway, user_id=…, **kwargs)``, a refusal returned (not raised)."""
        me = await self._run_as_user(_me)
        try:
            return await fn(background.gateway(), user_id=me.id, **kwargs)
        except (BindingError, FieldErrors) as refused:
            return refused

    @rx.event
    async def find(self, form_data: dict):
        values = read_form(form_data, BIND_FIELDS, strip=BIND_FIELDS)
        self._errors_clear()
        work = functools.partial(self._as_me, binding_flow.request_binding, **values)
        async for event in submit_form(self, "bind_busy", work, self._found):
            yield event

    def _found(self, result):
        if isinstance(result, FieldErrors):
            self.errors = messages(result)
            return None
        if isinstance(result, BindingError):
            self.form_message = message(result.reason)
            return None
        wake_mail_sender()
        if isinstance(result, binding_flow.AccessAsked):
            self.form_message = t("binding.already_connected")
            return None
        self._code_sent(result)
        self.step = "code"
        return rx.set_focus("code")

    def _code_sent(self, sent: binding_flow.CodeSent) -> None:
        self.request_id = sent.request_id
        self.contract_number = sent.contract_number
        self.masked_email = sent.masked_email or ""
        self.code_message = (t("contracts.code_sent", email=sent.masked_email) if sent.masked_email
                             else t("binding.no_email"))

    @rx.event
    async def resend(self):
        self._errors_clear()
        work = functools.partial(self._as_me, binding_flow.resend_code, request_id=self.request_id)
        async for event in submit_form(self, "bind_busy", work, self._resent):
            yield event

    def _resent(self, result) -> None:
        if isinstance(result, (BindingError, FieldErrors)):
            self.errors = {"code": message(result.reason)} if isinstance(result, BindingError) else {}
            return
        wake_mail_sender()
        self._code_sent(result)
        self.code_message = t("contracts.code_resent", email=result.masked_email or "")

    @rx.event
    async def confirm(self, form_data: dict):
        code = read_form(form_data, ("code",), strip=("code",))["code"]
        self._errors_clear()
        work = functools.partial(self._as_me, binding_flow.confirm_binding, request_id=self.request_id,
                                 code=code)
        async for event in submit_form(self, "bind_busy", work, self._confirmed):
            yield event

    async def _confirmed(self, result):
        if isinstance(result, FieldErrors):
            self.errors = {"code": messages(result).get("code", "")}
            return None
        if isinstance(result, BindingError):
            self.errors = {"code": message(result.reason)}
            if result.code in ("binding.code_ended", "binding.request_ended", "binding.code_expired"):
                self.step = "form" if result.code != "binding.code_expired" else "code"
                self.form_message = self.errors["code"] if self.step == "form" else ""
            return None
        background.request_sync()
        self.step = "done"
        self.organisation_key = result.organisation_key
        self.organisation_name = result.organisation_name
        self.bound_text = t("contracts.bound", numbers=", ".join(result.contract_numbers))
        self.offered = [OfferedContract(key=c.key, number=c.number, kind=label(c.kind)) for c in result.offered]
        self.offset = 0
        await self._reload()
        return rx.set_focus("bind-done")

    @rx.event
    async def bind_more(self, form_data: dict):
        data = form_data if isinstance(form_data, dict) else {}
        chosen = [o.key for o in self.offered if str(data.get(f"more-{o.key}", "")) in ("on", "true", "1")]
        self.more_message = ""
        work = functools.partial(self._as_me, _bind_more_of(self.organisation_key), contract_keys=chosen)
        async for event in submit_form(self, "bind_busy", work, self._bound_more):
            yield event

    async def _bound_more(self, result) -> None:
        if isinstance(result, BindingError):
            self.more_message = message(result.reason)
            return
        if isinstance(result, FieldErrors):  # pragma: no cover - bind_more has no fields
            return
        background.request_sync()
        self.bound_text = t("contracts.bound_more", numbers=", ".join(result))
        self.offered = [o for o in self.offered if o.number not in result]
        await self._reload()


def _bind_more_of(organisation_key: str):
    async def run(gateway, *, user_id: int, contract_keys: list[str]):
        return await binding_flow.bind_more(gateway, user_id=user_id, organisation_key=organisation_key,
                                            contract_keys=contract_keys)

    return run


def _set_notice_email(db: Session, me: CurrentUser, organisation_key: str, email: str):
    try:
        organisation.set_notification_email(db, user_id=me.id, organisation_key=organisation_key, email=email)
    except (BindingError, FieldErrors) as refused:
        return refused
    return _organisations(db, me)


class OrganisationPanel(ContractsState):
    """«Уведомления организации»: the address receipts and notices also go to."""

    notice_busy: bool = False
    notice_error: str = ""
    notice_saved: str = ""

    @rx.event
    async def save_notice_email(self, form_data: dict):
        values = read_form(form_data, ("organisation", "email"), strip=("organisation", "email"))
        self.notice_error = self.notice_saved = ""
        work = functools.partial(self._run_as_user, _set_notice_email, values["organisation"][:40],
                                 values["email"])
        async for event in submit_form(self, "notice_busy", work, self._notice_saved):
            yield event

    def _notice_saved(self, result) -> None:
        if isinstance(result, FieldErrors):
            self.notice_error = messages(result).get("email", "")
            return
        if isinstance(result, BindingError):
            self.notice_error = message(result.reason)
            return
        self.organisations = result
        self.notice_saved = t("organisation.saved")
