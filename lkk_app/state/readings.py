"""Закладка «Показания»: the readings form of the chosen contract for the
month whose window is open — a row per register of every meter read by the
customer, the previous value and its date, the consumption with its formula
and the warnings (each to be ticked); the remote-read points with their
received values; the month's submissions with their statuses; replacing a
submission billing has not answered yet.

The server decides: the browser's values are checked again by
``lkk_app.billing.readings.service`` as the tab's user, whose functions start
with the ownership check; a double click sends the same ``form_key``."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

import reflex as rx
from sqlmodel import Session

from lkk_app.auth.sessions import CurrentUser
from lkk_app.billing.binding import BindingError
from lkk_app.billing.readings import excel, rules, service
from lkk_app.billing.readings.rules import MeterCheck, MeterFacts, RegisterCheck
from lkk_app.billing.readings.service import ReadingsForm, ReadingsRefused
from lkk_app.billing.types import ReadingSource
from lkk_app.core.errors import Code
from lkk_app.core.formatting import date_text, day_month, local_datetime, local_today, month_text, number
from lkk_app.i18n import label, message, t
from lkk_app.jobs.worker import wake_mail_sender
from lkk_app.state.base import SignedOut, submit_form
from lkk_app.state.cabinet import CabinetState, chosen, contract_choices
from lkk_app.state.points import coefficient_text, status_words

VALUE, CONFIRM, COMMENT = "v:", "w:", "c:"  # form field prefixes: value, tick, comment of a register


@dataclasses.dataclass
class WarningRow:
    token: str = ""
    text: str = ""
    confirm: str = ""
    checked: bool = False


@dataclasses.dataclass
class RegisterRow:
    key: str = ""
    zone: str = ""
    previous: str = ""
    previous_on: str = ""
    value: str = ""
    consumption: str = ""
    formula: str = ""
    error: str = ""
    status: str = ""
    status_kind: str = ""
    locked: bool = False
    needs_comment: bool = False
    comment: str = ""
    warnings: list[WarningRow] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class MeterGroup:
    key: str = ""
    point: str = ""
    address: str = ""
    meter: str = ""
    coefficient: str = ""
    losses: str = ""
    error: str = ""
    warnings: list[WarningRow] = dataclasses.field(default_factory=list)
    registers: list[RegisterRow] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class RemoteRow:
    point: str = ""
    meter: str = ""
    zone: str = ""
    value: str = ""
    as_of: str = ""
    consumption: str = ""


@dataclasses.dataclass
class ImportRow:
    """A row of an uploaded file in the report: what it gives and what the check found."""

    number: str = ""
    point: str = ""
    meter: str = ""
    zone: str = ""
    value: str = ""
    result: str = ""
    kind: str = ""  # ok | bad | warn | skip
    warnings: list[WarningRow] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class GivenRow:
    time: str = ""
    who: str = ""
    source: str = ""
    count: str = ""
    status: str = ""
    status_kind: str = ""
    reference: str = ""


# --------------------------------------------------------------------------- words


def formula(check: RegisterCheck, facts: MeterFacts, losses_percent: Decimal) -> str:
    """«(20,00 + 1 000 000 − 999 850,00) × 40 + 2 % (136,00) + 97,50 = 7 033,50 кВт·ч»."""
    if check.consumption is None or check.value is None or check.previous is None or check.energy is None:
        return ""
    places = facts.decimals
    value, previous = number(check.value, places), number(check.previous, places)
    span = number(Decimal(10) ** facts.digits)
    delta = f"({value} + {span} − {previous})" if check.rollover else f"({value} − {previous})"
    text = f"{delta} × {number(facts.coefficient.normalize())}"
    percent = (check.energy * losses_percent / 100).quantize(rules.CENT) if losses_percent else Decimal(0)
    constant = (check.losses or Decimal(0)) - percent
    if percent:
        text += f" + {number(losses_percent.normalize())} % ({number(percent, 2)})"
    if constant:
        text += " + " + t("readings.constant_losses", kwh=number(constant, 2))
    return f"{text} = {number(check.consumption, 2)} {t('readings.kwh')}"


def _warning(token: str, code: Code, ticked: set[str]) -> WarningRow:
    return WarningRow(token=token, text=message(code), confirm=t(f"confirm.{code.key}"), checked=token in ticked)


def _fill(group: MeterGroup, check_: MeterCheck, facts: MeterFacts, losses_percent: Decimal,
          ticked: set[str]) -> None:
    """Show what the rules said of a meter: each register's consumption with its
    formula and warning (a reverse one asks for a comment), the meter's warnings."""
    checks = {r.key: r for r in check_.registers}
    for row in group.registers:
        rc = checks.get(row.key)
        if rc is None:
            continue
        row.consumption = f"{number(rc.consumption, 2)} {t('readings.kwh')}" if rc.consumption is not None else ""
        row.formula = formula(rc, facts, losses_percent)
        warning = next((w for w in check_.warnings if w.target == row.key), None)
        row.warnings = [_warning(warning.token, warning.code, ticked)] if warning else []
        row.needs_comment = warning is not None and warning.code.key == rules.REVERSE
    group.warnings = [_warning(w.token, w.code, ticked) for w in check_.warnings if w.target == group.key]


def _groups(form: ReadingsForm, checks: Sequence[MeterCheck] | None, typed: Mapping[str, str],
            errors: Mapping[str, Code], ticked: set[str], comments: Mapping[str, str],
            editable: bool) -> list[MeterGroup]:
    live = form.live
    by_meter = {c.key: c for c in checks or ()}
    groups = []
    for slot in form.slots:
        point = slot.point
        losses = t("points.losses_value", percent=number(point.losses_percent),
                   kwh=number(point.losses_kwh_month)) if point.losses_percent or point.losses_kwh_month else ""
        group = MeterGroup(
            key=slot.meter.key, point=point.name, address=point.address,
            meter=t("readings.meter_line", serial=slot.meter.serial, model=slot.meter.model),
            coefficient=coefficient_text(slot.meter), losses=losses,
            error=message(errors[slot.meter.key]) if slot.meter.key in errors else "")
        for reg, facts in zip(slot.meter.registers, slot.facts.registers, strict=True):
            given = live.get(reg.key)
            row = RegisterRow(
                key=reg.key, zone=label(reg.zone),
                previous=number(facts.previous, slot.meter.decimals) if facts.previous is not None else "—",
                previous_on=(t("readings.initial_on", date=date_text(facts.previous_on))
                             if facts.previous_on == slot.installation.installed_on
                             else date_text(facts.previous_on)),
                value=typed.get(reg.key, number(given.value, slot.meter.decimals).replace("\u00a0", " ")
                                if given else ""),
                locked=not editable or (given is not None and given.status == "accepted"),
                comment=comments.get(reg.key, given.comment if given else ""),
                error=message(errors[reg.key]) if reg.key in errors else "")
            if given is not None:
                row.status, row.status_kind = status_words(given.status, given.reason)
                if given.consumption is not None:
                    row.consumption = f"{number(given.consumption, 2)} {t('readings.kwh')}"
            group.registers.append(row)
        check_ = by_meter.get(slot.meter.key)
        if check_ is not None:
            _fill(group, check_, slot.facts, point.losses_percent, ticked)
        groups.append(group)
    return groups


def _remote(form: ReadingsForm) -> list[RemoteRow]:
    rows = []
    for slot in form.remote:
        zones = {r.key: label(r.zone) for r in slot.meter.registers}
        for reading in slot.received:
            rows.append(RemoteRow(point=slot.point.name, meter=slot.meter.serial,
                                  zone=zones.get(reading.register_key, ""),
                                  value=number(reading.value, slot.meter.decimals), as_of=date_text(reading.as_of),
                                  consumption=number(reading.consumption_kwh, 2)
                                  if reading.consumption_kwh is not None else "—"))
    return rows


def _given(form: ReadingsForm) -> list[GivenRow]:
    rows = []
    for g in form.given:
        status, kind = status_words(g.status)
        if g.status == "rejected":
            reasons = {v.reason for v in g.values if v.reason}
            status = t("readings.status_rejected", reason="; ".join(message(Code(r)) for r in sorted(reasons)))
        rows.append(GivenRow(time=local_datetime(g.created_at), who=g.user_login, source=label(g.source),
                             count=str(g.count), status=status, status_kind=kind, reference=g.reference))
    return rows


def _report(form: ReadingsForm, rows: Sequence[excel.FileRow], found: service.FileCheck) -> list[ImportRow]:
    """A report row per file row: the bad ones with why, the rest with their
    consumption and the warnings to tick."""
    places = {r.key: (s, r) for s in form.slots + form.remote for r in s.meter.registers}
    checks = {r.key: (c, r) for c in found.checks for r in c.registers}
    report = []
    for row in rows:
        slot, reg = places.get(row.register_key, (None, None))
        item = ImportRow(number=str(row.number), point=slot.point.name if slot else "",
                         meter=slot.meter.serial if slot else "", zone=label(reg.zone) if reg else "",
                         value=row.value)
        code = found.row_errors.get(row.number) or found.errors.get(row.register_key) or (
            found.errors.get(slot.meter.key) if slot else None)
        check_, rc = checks.get(row.register_key, (None, None))
        if code is not None and code.key not in (rules.NOT_CONFIRMED, rules.COMMENT_REQUIRED):
            item.result, item.kind = message(code), "bad"
        elif not row.value:
            item.result, item.kind = t("excel.row_empty"), "skip"
        elif rc is not None and check_ is not None:
            item.result = t("excel.row_ok", consumption=number(rc.consumption, 2)) if rc.consumption is not None \
                else t("excel.row_first")
            item.kind = "ok"
            item.warnings = [_warning(w.token, w.code, set()) for w in check_.warnings
                             if w.target == row.register_key or (w.target == check_.key and reg is not None
                                                                 and reg.tariff == 1)]
            if item.warnings:
                item.kind = "warn"
        report.append(item)
    return report


# --------------------------------------------------------------------------- work as the user


def _load(db: Session, me: CurrentUser, requested: str, current: str):
    choices = contract_choices(db, me)
    key = chosen(choices, requested, current)
    if not key:
        return choices, None
    return choices, service.load_form(db, me.id, key, today=local_today())


def _submit(db: Session, me: CurrentUser, contract_key: str, typed: dict[str, str], confirmed: list[str],
            comments: dict[str, str], form_key: str, base_id: int, source: ReadingSource):
    try:
        done = service.submit(db, user_id=me.id, user_login=me.login, contract_key=contract_key, typed=typed,
                              confirmed=confirmed, comments=comments, idempotency_key=form_key,
                              base_id=base_id or None, source=source, today=local_today())
    except (ReadingsRefused, BindingError) as refused:
        return refused, None
    return done, done.form or service.load_form(db, me.id, contract_key, today=local_today())


def _check_file(db: Session, me: CurrentUser, contract_key: str, data: bytes, base_id: int):
    """The uploaded bytes read and checked as the user: (report rows, the check) or a refusal."""
    try:
        rows = excel.read(data)
    except excel.FileRefused as refused:
        return refused.code
    try:
        form = service.load_form(db, me.id, contract_key, today=local_today())
    except BindingError as refused:
        return refused.reason
    found = service.check_file(form, rows, base_id or None)
    return _report(form, rows, found), found


def _template(db: Session, me: CurrentUser, contract_key: str) -> tuple[bytes, str] | Code:
    try:
        form = service.load_form(db, me.id, contract_key, today=local_today())
    except BindingError as refused:
        return refused.reason
    period = month_text(form.window.period if form.window else form.upcoming.period)
    return excel.template(form), t("excel.file_name", contract=form.contract.number, period=period)


def read_values(form_data: object) -> tuple[dict[str, str], list[str], dict[str, str]]:
    """Typed values, ticked warnings and comments of a submitted form (whatever a client sent)."""
    data = form_data if isinstance(form_data, dict) else {}
    typed, ticked, comments = {}, [], {}
    for name, raw in list(data.items())[:20000]:
        if not isinstance(name, str) or len(name) > 140:
            continue
        value = str(raw if raw is not None else "")[:64]
        if name.startswith(VALUE):
            typed[name[len(VALUE):]] = value
        elif name.startswith(CONFIRM) and value in ("on", "true", "1"):
            ticked.append(name[len(CONFIRM):])
        elif name.startswith(COMMENT):
            comments[name[len(COMMENT):]] = str(raw or "")[:rules.COMMENT_MAX]
    return typed, ticked, comments


class ReadingsState(CabinetState):
    loaded: bool = False
    contract_number: str = ""
    window_open: bool = False
    window_text: str = ""  # «Приём показаний за ноябрь 2026: с 23.11 по 03.12»
    replace_note: str = ""
    may_submit: bool = False
    editable: bool = False
    pending: bool = False
    groups: list[MeterGroup] = []
    remote_rows: list[RemoteRow] = []
    given_rows: list[GivenRow] = []
    form_key: str = ""
    base_id: int = 0
    form_message: str = ""
    done_message: str = ""
    submitting: bool = False
    # «Загрузить файл»: the report of the last file, and whether it may be sent.
    import_rows: list[ImportRow] = []
    import_message: str = ""
    import_ok: bool = False
    import_busy: bool = False
    import_key: str = ""
    _facts: dict[str, MeterFacts] = {}
    _losses: dict[str, Decimal] = {}
    _as_of: date | None = None
    # What the last submit sent: typed values, ticked warnings, comments.
    _typed: dict[str, str] = {}
    _ticked: list[str] = []
    _comments: dict[str, str] = {}
    _import: service.FileCheck | None = None

    def _clear(self) -> None:
        self.loaded = False
        self.groups, self.remote_rows, self.given_rows = [], [], []
        self._facts, self._typed = {}, {}
        self._forget_import()

    def _forget_import(self) -> None:
        self.import_rows, self.import_message, self.import_ok, self._import = [], "", False, None

    def _show(self, form: ReadingsForm | None, checks: Sequence[MeterCheck] | None = None,
              errors: Mapping[str, Code] | None = None, ticked: Sequence[str] = (),
              comments: Mapping[str, str] | None = None) -> None:
        self.loaded = True
        if form is None:
            self.groups, self.remote_rows, self.given_rows, self.contract_number = [], [], [], ""
            return
        self.contract_number = form.contract.number
        self.window_open = form.window is not None
        self.may_submit = form.may_submit
        self.editable = self.window_open and form.may_submit
        pending = form.pending
        self.pending = pending is not None
        self.base_id = pending.id if pending else 0
        if form.window is not None:
            self.window_text = t("readings.window", period=month_text(form.window.period),
                                 opens=day_month(form.window.opens), closes=day_month(form.window.closes),
                                 as_of=date_text(form.as_of))
            self.replace_note = t("readings.replace_note", closes=date_text(form.window.closes))
        else:
            self.window_text = t("readings.window_closed", period=month_text(form.upcoming.period),
                                 opens=date_text(form.upcoming.opens))
            self.replace_note = ""
        self._as_of = form.as_of or form.upcoming.opens
        self._facts = {s.meter.key: s.facts for s in form.slots}
        self._losses = {s.meter.key: s.point.losses_percent for s in form.slots}
        self.groups = _groups(form, checks, self._typed, errors or {}, set(ticked), comments or {}, self.editable)
        # Nothing left to give (every value of the month accepted): no button.
        self.editable = self.editable and any(not r.locked for g in self.groups for r in g.registers)
        self.remote_rows = _remote(form)
        self.given_rows = _given(form)

    def _new_form_key(self) -> None:
        self.form_key = secrets.token_urlsafe(24)

    async def _run(self, requested: str = ""):
        try:
            choices, form = await self._run_as_user(_load, requested, self.contract_key)
        except SignedOut as gone:
            return self._signed_out(gone)
        except BindingError as refused:
            self.form_message = message(refused.reason)
            return None
        self._choose(choices, form.contract.key if form else "")
        self._show(form)
        return None

    @rx.event
    async def on_load(self):
        self._typed, self.form_message, self.done_message = {}, "", ""
        self._forget_import()
        self._new_form_key()
        return await self._run(self._asked())

    @rx.event
    async def choose_contract(self, key: str):
        self._typed, self.form_message, self.done_message = {}, "", ""
        self._forget_import()
        self._new_form_key()
        return await self._run(str(key)[:40])

    # ------------------------------------------------------------------ the Excel file

    @rx.event
    async def download_template(self):
        try:
            result = await self._run_as_user(_template, self.contract_key)
        except SignedOut as gone:
            return self._signed_out(gone)
        if isinstance(result, Code):
            self.form_message = message(result)
            return None
        data, name = result
        return rx.download(data=data, filename=name, mime_type=excel.MIME)

    @rx.event
    async def upload(self, files: list[rx.UploadFile]):
        """Read an uploaded template and show its row-by-row report (nothing is sent)."""
        self._forget_import()
        self.form_message = self.done_message = ""
        if len(files) != 1:
            self.import_message = message(Code("excel.one_file"))
            return
        data = await files[0].read(excel.MAX_FILE + 1)
        key, base_id = self.contract_key, self.base_id

        async def work():
            return await self._run_as_user(_check_file, key, data, base_id)

        async for event in submit_form(self, "import_busy", work, self._file_checked):
            yield event

    def _file_checked(self, result):
        if isinstance(result, Code):
            self.import_message = message(result)
            return None
        report, found = result
        self.import_rows, self._import = report, found
        self.import_ok = found.ok and bool(found.typed) and any(v for v in found.typed.values())
        self.import_key = secrets.token_urlsafe(24)
        if not found.typed or not any(found.typed.values()):
            self.import_message = message(Code("readings.nothing_given"))
        elif found.ok:
            self.import_message = t("excel.report_ok", count=sum(1 for v in found.typed.values() if v))
        else:
            problem = found.errors.get("")
            self.import_message = message(problem) if problem is not None else t(
                "excel.report_bad", count=sum(1 for r in report if r.kind == "bad"))
        return rx.set_focus("import-message")

    @rx.event
    def upload_rejected(self, rejected: list[dict]):
        self._forget_import()
        self.import_message = message(Code("excel.too_big", max=excel.MAX_FILE // (1024 * 1024)))

    @rx.event
    def cancel_import(self):
        self._forget_import()

    @rx.event
    async def submit_file(self, form_data: dict):
        """Send the values of the checked file: every warning ticked in the report."""
        found = self._import
        if found is None or not self.import_ok:
            return
        _, ticked, _ = read_values(form_data)
        self.form_message = self.done_message = ""
        self._ticked = ticked
        key, base_id, contract = self.import_key, self.base_id, self.contract_key
        typed, comments = dict(found.typed), dict(found.comments)

        async def work():
            return await self._run_as_user(_submit, contract, typed, ticked, comments, key, base_id,
                                           ReadingSource.CUSTOMER_FILE)

        async for event in submit_form(self, "import_busy", work, self._file_submitted):
            yield event

    def _file_submitted(self, result):
        outcome = result[0]
        if isinstance(outcome, ReadingsRefused):
            confirm_only = all(c.key in (rules.NOT_CONFIRMED, rules.COMMENT_REQUIRED) for c in outcome.errors.values())
            self.import_message = message(outcome.errors[""]) if "" in outcome.errors else t(
                "readings.confirm_first" if confirm_only else "readings.fix_first")
            return rx.set_focus("import-message")
        self._forget_import()
        return self._submitted(result)

    @rx.event
    def preview(self, register_key: str, value: str):
        """The consumption and warnings of one meter as its values are typed
        (the form's facts; the server checks everything again on submit)."""
        key, text = str(register_key)[:40], str(value or "")[:64]
        meter_key = next((m for m, f in self._facts.items() if any(r.key == key for r in f.registers)), None)
        if meter_key is None:
            return
        self._typed = {**self._typed, key: text}
        facts = self._facts[meter_key]
        check_ = rules.check_meter(facts, {r.key: self._typed.get(r.key, "") for r in facts.registers},
                                   as_of=self._as_of or local_today())
        for group in self.groups:
            if group.key == meter_key:
                for row in group.registers:
                    rc = next(r for r in check_.registers if r.key == row.key)
                    row.value = self._typed.get(row.key, row.value)
                    row.error = message(rc.error) if rc.error is not None and rc.error.key != rules.REGISTERS else ""
                _fill(group, check_, facts, self._losses.get(meter_key, Decimal(0)), set())
        self.groups = list(self.groups)

    @rx.event
    async def submit(self, form_data: dict):
        typed, ticked, comments = read_values(form_data)
        self.form_message = self.done_message = ""
        self._typed, self._ticked, self._comments = typed, ticked, comments
        # The key the page showed when the button was pressed: a double click sends it twice.
        data = form_data if isinstance(form_data, dict) else {}
        key = str(data.get("form_key") or self.form_key)[:service.KEY_MAX + 1]
        base_id, contract = self.base_id, self.contract_key

        async def work():
            return await self._run_as_user(_submit, contract, typed, ticked, comments, key, base_id,
                                           ReadingSource.CUSTOMER_FORM)

        async for event in submit_form(self, "submitting", work, self._submitted):
            yield event

    def _submitted(self, result):
        outcome, form = result
        if isinstance(outcome, BindingError):
            self.form_message = message(outcome.reason)
            return None
        if isinstance(outcome, ReadingsRefused):
            self._refused(outcome)
            return rx.set_focus("readings-message")
        wake_mail_sender()
        self._typed = {}
        self._new_form_key()
        self._show(form)
        self.done_message = t("readings.replaced" if outcome.replaced else "readings.sent", count=outcome.values)
        return rx.set_focus("readings-done")

    def _refused(self, refused: ReadingsRefused) -> None:
        """Nothing was submitted: say why, next to each field, and show the
        consumption and warnings the server found (the ticks stay)."""
        errors = refused.errors
        confirm_only = all(c.key in (rules.NOT_CONFIRMED, rules.COMMENT_REQUIRED) for c in errors.values())
        self.form_message = message(errors[""]) if "" in errors else t(
            "readings.confirm_first" if confirm_only else "readings.fix_first")
        by_meter = {c.key: c for c in refused.checks}
        for group in self.groups:
            group.error = message(errors[group.key]) if group.key in errors else ""
            for row in group.registers:
                row.value = self._typed.get(row.key, row.value)
                row.comment = self._comments.get(row.key, row.comment)
                row.error = message(errors[row.key]) if row.key in errors else ""
            check_, facts = by_meter.get(group.key), self._facts.get(group.key)
            if check_ is not None and facts is not None:
                _fill(group, check_, facts, self._losses.get(group.key, Decimal(0)), set(self._ticked))
        self.groups = list(self.groups)
