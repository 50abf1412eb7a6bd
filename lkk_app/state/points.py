"""Закладка «Точки учёта»: the chosen contract's metering points with their
meters (search, paging), a point's card with its meter, transformers,
installations and the meter's history of readings.

Every handler works as the tab's user through ``lkk_app.billing.metering``,
whose functions start with the ownership check."""

from __future__ import annotations

import dataclasses
from datetime import date

import reflex as rx
from sqlmodel import Session

from lkk_app.auth.sessions import CurrentUser
from lkk_app.billing import metering, sync
from lkk_app.billing.binding import BindingError
from lkk_app.billing.readings.rules import capacity_max
from lkk_app.billing.types import Meter, MeteringPoint, Transformer
from lkk_app.core.errors import Code
from lkk_app.core.formatting import date_text, local_today, number
from lkk_app.i18n import label, message, t
from lkk_app.settings import get_settings
from lkk_app.state.base import SignedOut, read_form
from lkk_app.state.cabinet import CabinetState, chosen, contract_choices

PAGE_SIZE = 50
HISTORY_SHOWN = 24  # rows of a meter's history before «Показать всю историю»


@dataclasses.dataclass
class PointRow:
    key: str = ""
    name: str = ""
    address: str = ""
    kind: str = ""
    voltage: str = ""
    power: str = ""
    remote: bool = False
    meter: str = ""
    model: str = ""
    zones: str = ""
    coefficient: str = ""
    next_check: str = ""
    check_state: str = ""  # metering.VERIFIED | SOON | EXPIRED


@dataclasses.dataclass
class TransformerRow:
    kind: str = ""
    serial: str = ""
    ratio: str = ""
    accuracy: str = ""
    verified: str = ""
    next_check: str = ""
    check_state: str = ""


@dataclasses.dataclass
class InstallationRow:
    meter: str = ""
    installed: str = ""
    removed: str = ""
    initial: str = ""
    final: str = ""
    current: bool = False


@dataclasses.dataclass
class HistoryItem:
    as_of: str = ""
    zone: str = ""
    value: str = ""
    consumption: str = ""
    source: str = ""
    status: str = ""
    status_kind: str = ""  # ok | wait | bad | old


@dataclasses.dataclass
class PointCardView:
    key: str = ""
    name: str = ""
    address: str = ""
    code: str = ""
    kind: str = ""
    voltage: str = ""
    power: str = ""
    losses: str = ""
    reading: str = ""  # remote-read or by the customer
    has_meter: bool = False
    meter: str = ""
    model: str = ""
    accuracy: str = ""
    capacity: str = ""
    zones: str = ""
    connection: str = ""
    coefficient: str = ""
    verified: str = ""
    next_check: str = ""
    check_state: str = ""
    transformers: list[TransformerRow] = dataclasses.field(default_factory=list)
    installations: list[InstallationRow] = dataclasses.field(default_factory=list)
    history: list[HistoryItem] = dataclasses.field(default_factory=list)


# --------------------------------------------------------------------------- words for the records


def kw(value) -> str:
    return t("points.kw", value=number(value))


def zones_text(meter: Meter) -> str:
    return ", ".join(label(r.zone) for r in meter.registers)


def coefficient_text(meter: Meter) -> str:
    """«40 (ТТ 200/5)», «6 000 (ТТ 300/5 × ТН 10000/100)», «1»."""
    ratios = []
    for kind in dict.fromkeys(t_.kind for t_ in meter.transformers):
        first = next(t_ for t_ in meter.transformers if t_.kind is kind)
        ratios.append(f"{label(kind)} {first.ratio_text}")
    value = number(meter.coefficient.normalize())
    return value + (f" ({' × '.join(ratios)})" if ratios else "")


def capacity_text(meter: Meter) -> str:
    """«6.2 (до 999 999,99)»."""
    return t("points.capacity_value", digits=meter.digits, decimals=meter.decimals,
             max=number(capacity_max(meter.digits, meter.decimals), meter.decimals))


def _row(view: metering.PointView, today: date) -> PointRow:
    p, m = view.point, view.meter
    return PointRow(
        key=p.key, name=p.name, address=p.address, kind=label(p.kind), voltage=label(p.voltage),
        power=kw(p.max_power_kw), remote=p.remote, meter=m.serial if m else "", model=m.model if m else "",
        zones=zones_text(m) if m else "", coefficient=coefficient_text(m) if m else "",
        next_check=date_text(metering.verification_due(m)) if m else "",
        check_state=metering.verification_state(m, today) if m else "")


def _transformer(tr: Transformer, today: date) -> TransformerRow:
    state = (metering.EXPIRED if tr.next_verification <= today else
             metering.SOON if tr.next_verification - today <= metering.VERIFICATION_SOON else metering.VERIFIED)
    return TransformerRow(kind=label(tr.kind), serial=tr.serial, ratio=tr.ratio_text, accuracy=tr.accuracy_class,
                          verified=date_text(tr.verified_on), next_check=date_text(tr.next_verification),
                          check_state=state)


def _values_text(values, meter: Meter | None) -> str:
    zones = {r.key: label(r.zone) for r in meter.registers} if meter else {}
    return "; ".join(f"{zones.get(v.register_key, v.register_key)}: {number(v.value)}" for v in values)


# A reading's status in words, and the look of its badge.
STATUS_WORDS = {"accepted": ("readings.status_accepted", "ok"), "submitted": ("readings.status_submitted", "wait"),
                "replaced": ("readings.status_replaced", "old"), "partly": ("readings.status_partly", "warn")}


def status_words(status: str, reason: str | None = None) -> tuple[str, str]:
    """«Принято», «Передано», «Отклонено: причина» … and ok | wait | bad | old | warn."""
    if status == "rejected":
        return t("readings.status_rejected", reason=message(Code(reason or "reading.not_answered"))), "bad"
    key, kind = STATUS_WORDS.get(status, ("readings.status_submitted", "wait"))
    return t(key), kind


def _point_text(p: MeteringPoint) -> tuple[str, str]:
    losses = t("points.losses_value", percent=number(p.losses_percent), kwh=number(p.losses_kwh_month)) \
        if p.losses_percent or p.losses_kwh_month else t("points.losses_none")
    return losses, t("points.reading_remote") if p.remote else t("points.reading_customer")


def _card(card: metering.PointCard, today: date) -> PointCardView:
    p, m = card.view.point, card.view.meter
    losses, reading = _point_text(p)
    view = PointCardView(key=p.key, name=p.name, address=p.address, code=p.code or "—", kind=label(p.kind),
                         voltage=label(p.voltage), power=kw(p.max_power_kw), losses=losses, reading=reading)
    if m is not None:
        view.has_meter = True
        view.meter, view.model, view.accuracy = m.serial, m.model, m.accuracy_class
        view.capacity, view.zones, view.connection = capacity_text(m), zones_text(m), label(m.connection)
        view.coefficient = coefficient_text(m)
        view.verified = t("points.verified_value", date=date_text(m.verified_on), years=m.interval_years)
        view.next_check = date_text(metering.verification_due(m))
        view.check_state = metering.verification_state(m, today)
        view.transformers = [_transformer(tr, today) for tr in m.transformers]
    current = card.view.installation.key if card.view.installation else ""
    view.installations = [InstallationRow(
        meter=f"{i.meter.serial} · {i.meter.model}" if i.meter else i.installation.meter_key,
        installed=date_text(i.installation.installed_on), removed=date_text(i.installation.removed_on),
        initial=_values_text(i.installation.initial, i.meter), final=_values_text(i.installation.final, i.meter),
        current=i.installation.key == current) for i in card.installations]
    view.history = []
    for h in card.history:
        status, kind = status_words(h.status, h.reason)
        view.history.append(HistoryItem(
            as_of=date_text(h.as_of), zone=label(h.zone) if h.zone else "", value=number(h.value),
            consumption=number(h.consumption, 2) if h.consumption is not None else "—",
            source=label(h.source) + (f" ({h.given_by})" if h.given_by else ""), status=status, status_kind=kind))
    return view


# --------------------------------------------------------------------------- work as the user


def _load(db: Session, me: CurrentUser, requested: str, current: str, query: str, offset: int):
    choices = contract_choices(db, me)
    key = chosen(choices, requested, current)
    if not key:
        return choices, None, False
    page = metering.points_page(db, me.id, key, query=query, offset=offset, limit=PAGE_SIZE, today=local_today())
    return choices, page, sync.copy_is_stale(db, get_settings().billing_sync_minutes)


def _open(db: Session, me: CurrentUser, point_key: object) -> metering.PointCard | BindingError:
    try:
        return metering.point_card(db, me.id, point_key, today=local_today())
    except BindingError as refused:
        return refused


class PointsState(CabinetState):
    loaded: bool = False
    contract_number: str = ""
    rows: list[PointRow] = []
    total: int = 0
    offset: int = 0
    query: str = ""
    card: PointCardView = PointCardView()
    card_open: bool = False
    history_all: bool = False
    notice: str = ""

    @rx.var
    def history_shown(self) -> list[HistoryItem]:
        return self.card.history if self.history_all else self.card.history[:HISTORY_SHOWN]

    @rx.var
    def history_more(self) -> int:
        return 0 if self.history_all else max(len(self.card.history) - HISTORY_SHOWN, 0)

    @rx.event
    def show_all_history(self):
        self.history_all = True

    def _clear(self) -> None:
        self.loaded = False
        self.rows, self.total, self.offset, self.query = [], 0, 0, ""
        self.card, self.card_open, self.notice = PointCardView(), False, ""

    async def _reload(self, requested: str = "") -> None:
        choices, page, stale = await self._run_as_user(_load, requested, self.contract_key, self.query,
                                                       self.offset)
        self._choose(choices, page.contract.key if page else "")
        self.loaded = True
        if page is None:
            self.rows, self.total, self.contract_number = [], 0, ""
            return
        today = local_today()
        self.contract_number = page.contract.number
        self.rows = [_row(v, today) for v in page.points]
        self.total = page.total
        self._fresh(page.as_of, page.billing_down, stale)

    @rx.event
    async def on_load(self):
        self.card_open, self.notice, self.offset, self.query = False, "", 0, ""
        return await self._run(self._asked())

    @rx.event
    async def choose_contract(self, key: str):
        self.card_open, self.notice, self.offset, self.query = False, "", 0, ""
        return await self._run(str(key)[:40])

    @rx.event
    async def search(self, form_data: dict):
        self.query = read_form(form_data, ("query",), strip=("query",))["query"][:100]
        self.offset, self.card_open = 0, False
        return await self._run()

    @rx.event
    async def show_page(self, offset: int):
        self.offset = max(0, min(int(offset) if isinstance(offset, int) else 0, max(self.total - 1, 0)))
        return await self._run()

    @rx.event
    async def open_point(self, key: str):
        self.notice = ""
        try:
            result = await self._run_as_user(_open, key)
        except SignedOut as gone:
            return self._signed_out(gone)
        if isinstance(result, BindingError):
            self.card_open = False
            self.notice = message(result.reason)
            return None
        self.card = _card(result, local_today())
        self.card_open, self.history_all = True, False
        return rx.set_focus("point-card")

    @rx.event
    def close_card(self):
        self.card_open = False
