"""The demo billing's data: the same on every machine for the same «today».

Organisations, contracts, metering points, meters and installations, with
dates counted back from ``today``.  README «Демо-данные» describes them.
:func:`seed` writes them into an empty demo billing, :func:`reset` restores
them, :func:`update_contract` is a change made "in billing" (tests, demos).
None of them commits: the caller owns the transaction.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from lkk_app.billing.adapters import demo_money
from lkk_app.billing.adapters.demo_tables import (
    DEMO_TABLES,
    DemoChange,
    DemoContract,
    DemoInstallation,
    DemoMeter,
    DemoOrganisation,
    DemoPoint,
    DemoReading,
    DemoRegister,
    DemoTransformer,
)
from lkk_app.billing.readings import rules
from lkk_app.billing.readings.rules import month_start
from lkk_app.billing.types import (
    ChangeKind,
    ContractKind,
    ContractStatus,
    Direction,
    MeterConnection,
    PaymentRegime,
    PointKind,
    ReadingSource,
    TransformerKind,
    VoltageLevel,
    Zone,
)

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")


def contract_number_key(number: str) -> str:
    """How contract numbers are compared: NFKC, upper case, no spaces, one kind of dash."""
    text = unicodedata.normalize("NFKC", number).translate(_DASHES)
    return "".join(text.split()).upper()


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def log_change(db: Session, kind: ChangeKind, key: str) -> None:
    db.add(DemoChange(kind=kind.value, key=key))


_Keyed = DemoOrganisation | DemoContract | DemoPoint | DemoMeter | DemoInstallation


def _add(db: Session, kind: ChangeKind, row: _Keyed) -> None:
    db.add(row)
    log_change(db, kind, row.key)


def _organisations(db: Session) -> None:
    rows = [
        DemoOrganisation(
            key="org-romashka", inn="7701000001", kpp="770101001", ogrn="1027700000019",
            name="Общество с ограниченной ответственностью «Ромашка-Демо»",
            short_name="ООО «Ромашка-Демо»",
            legal_address="127000, г. Москва, ул. Демонстрационная, д. 1",
            postal_address="127000, г. Москва, ул. Демонстрационная, д. 1, офис 12",
            emails="energo@romashka-demo.example", phone="+7 495 000-01-01",
        ),
        DemoOrganisation(
            key="org-zarya", inn="5003000008", kpp="500301001", ogrn="1055003000007",
            name="Акционерное общество «Заря-Демо»", short_name="АО «Заря-Демо»",
            legal_address="142400, Московская обл., г. Ногинск, ул. Рассветная, д. 5",
            postal_address="142400, Московская обл., г. Ногинск, ул. Рассветная, д. 5",
            emails="buh@zarya-demo.example", phone="+7 496 000-02-02",
        ),
        DemoOrganisation(
            key="org-petrov", inn="771200000003", kpp=None, ogrn="304770000000008",
            name="Индивидуальный предприниматель Петров Пётр Петрович",
            short_name="ИП Петров П. П.",
            legal_address="125000, г. Москва, ул. Примерная, д. 7, кв. 3",
            postal_address="125000, г. Москва, ул. Примерная, д. 7, кв. 3",
            emails="petrov@ip-demo.example", phone="+7 916 000-03-03",
        ),
    ]
    for row in rows:
        _add(db, ChangeKind.ORGANISATIONS, row)


_CURATORS = {
    "central": ("Смирнова Анна Викторовна", "+7 495 000-10-01", "a.smirnova@demo-energosbyt.example",
                "Центральное отделение, отдел по работе с юридическими лицами"),
    "east": ("Кузнецов Игорь Павлович", "+7 496 000-20-01", "i.kuznetsov@demo-energosbyt.example",
             "Восточное отделение, отдел по работе с юридическими лицами"),
    "small": ("Волкова Мария Сергеевна", "+7 495 000-30-01", "m.volkova@demo-energosbyt.example",
              "Центральное отделение, группа малого бизнеса"),
}


def _contract(key: str, org: str, number: str, starts: date, *, curator: str, **values: Any) -> DemoContract:
    name, phone, email, department = _CURATORS[curator]
    values.setdefault("kind", ContractKind.SUPPLY.value)
    values.setdefault("status", ContractStatus.ACTIVE.value)
    values.setdefault("payment_regime", PaymentRegime.INTERIM.value)
    return DemoContract(
        key=key, organisation_key=org, number=number, number_key=contract_number_key(number),
        signed_on=starts - timedelta(days=11), valid_from=starts,
        curator_name=name, curator_phone=phone, curator_email=email, department=department,
        **values,
    )


def _contracts(db: Session, today: date) -> None:
    next_year_end = date(today.year + 1, 12, 31)
    rows = [
        _contract("ctr-1001", "org-romashka", "Д-1001", month_start(today, -36), curator="central",
                  valid_to=None, price_category=2, voltage=VoltageLevel.NN.value,
                  max_power_kw=Decimal("120"), window_first=1, window_last=31),
        _contract("ctr-1002", "org-romashka", "Д-1002", month_start(today, -30), curator="central",
                  valid_to=None, price_category=4, voltage=VoltageLevel.SN2.value,
                  max_power_kw=Decimal("800"), window_first=25, window_last=2),
        _contract("ctr-2001", "org-zarya", "Д-2001", month_start(today, -48), curator="east",
                  valid_to=None, price_category=1, voltage=VoltageLevel.NN.value,
                  max_power_kw=Decimal("40")),
        _contract("ctr-3001", "org-petrov", "Д-3001", month_start(today, -26), curator="small",
                  valid_to=next_year_end, kind=ContractKind.SALE.value, price_category=1,
                  voltage=VoltageLevel.NN.value, max_power_kw=Decimal("15"),
                  payment_regime=PaymentRegime.NEXT_MONTH.value),
    ]
    for row in rows:
        _add(db, ChangeKind.CONTRACTS, row)


def _point(key: str, contract: str, name: str, address: str, starts: date, **values: Any) -> DemoPoint:
    values.setdefault("kind", PointKind.BILLING.value)
    values.setdefault("losses_percent", Decimal("0"))
    values.setdefault("losses_kwh_month", Decimal("0"))
    values.setdefault("remote", False)
    values.setdefault("hourly", False)
    return DemoPoint(key=key, contract_key=contract, name=name, address=address,
                     active_from=starts, **values)


def _meter(db: Session, key: str, *, zones: tuple[Zone, ...], verified_on: date, interval: int,
           transformers: tuple[tuple[TransformerKind, int, int, str, date, date], ...] = (),
           **values: Any) -> None:
    _add(db, ChangeKind.METERS, DemoMeter(
        key=key, verified_on=verified_on, interval_years=interval,
        next_verification=_years_later(verified_on, interval), **values,
    ))
    db.flush()  # no ORM relationships: parents are flushed before their children
    for tariff, zone in enumerate(zones, start=1):
        db.add(DemoRegister(key=f"{key}-{zone.value}", meter_key=key, zone=zone.value,
                            direction=Direction.IMPORT_ACTIVE.value, tariff=tariff))
    for n, (kind, primary, secondary, accuracy, verified, next_check) in enumerate(transformers, 1):
        db.add(DemoTransformer(
            key=f"{key}-t{n}", meter_key=key, serial=f"{values['serial']}-{n}", kind=kind.value,
            primary=primary, secondary=secondary, accuracy_class=accuracy,
            verified_on=verified, next_verification=next_check,
        ))


def _install(db: Session, key: str, point: str, meter: str, on: date, *, removed: date | None = None,
             initial: dict[str, Decimal] | None = None, final: dict[str, Decimal] | None = None) -> None:
    db.flush()
    _add(db, ChangeKind.INSTALLATIONS, DemoInstallation(
        key=key, point_key=point, meter_key=meter, installed_on=on, removed_on=removed,
        initial={k: format(v, "f") for k, v in (initial or {}).items()},
        final={k: format(v, "f") for k, v in (final or {}).items()},
    ))


# A month's share of the year's energy, January first: more in winter.
SEASON = tuple(Decimal(v) for v in ("1.25", "1.2", "1.1", "0.95", "0.85", "0.8",
                                    "0.8", "0.85", "0.95", "1.05", "1.15", "1.25"))
HISTORY_MONTHS = 24


@dataclasses.dataclass(frozen=True)
class _Usage:
    """How a meter was used: its readings are made up backwards from ``last``
    (the values as of ``until``) with ``kwh`` a month on average, shared between
    the registers by ``shares``, varying by :data:`SEASON`."""

    point: str
    meter: str
    k: Decimal
    decimals: int
    kwh: Decimal
    shares: dict[str, Decimal]  # register key → share of the energy
    last: dict[str, Decimal]  # register key → value as of ``until``
    until: date
    source: ReadingSource = ReadingSource.CUSTOMER_FORM

    def units(self, register: str, month: date, fraction: Decimal = Decimal(1)) -> Decimal:
        """Counter units of ``register`` in the month of ``month`` (or a ``fraction`` of it)."""
        energy = self.kwh * SEASON[month.month - 1] * self.shares[register] * fraction
        return (energy / self.k).quantize(Decimal(1).scaleb(-self.decimals), rounding=ROUND_HALF_UP)


def _history(usage: _Usage, installed: date) -> tuple[dict[str, Decimal], list[tuple[date, dict[str, Decimal]]]]:
    """The values at installation and the readings (as of the 1st of each month,
    oldest first) that end with ``usage.last``."""
    dates = [month_start(usage.until, -n) for n in range(HISTORY_MONTHS - 1, -1, -1)]
    dates = [d for d in dates if d > installed]
    values = dict(usage.last)
    readings = [(dates[-1], dict(values))]
    for when in reversed(dates[:-1]):
        values = {r: v - usage.units(r, when) for r, v in values.items()}  # the month from ``when``
        readings.insert(0, (when, dict(values)))
    months = (dates[0].year - installed.year) * 12 + dates[0].month - installed.month
    initial = {r: max(v - sum((usage.units(r, month_start(installed, m)) for m in range(months)), Decimal(0)),
                      Decimal(0)) for r, v in readings[0][1].items()}
    return initial, readings


def _add_readings(db: Session, usage: _Usage, point: DemoPoint, initial: dict[str, Decimal],
                  readings: list[tuple[date, dict[str, Decimal]]], digits: int = 6) -> None:
    """The readings as billing's accepted ones, each with its consumption (Δ × K + losses)."""
    previous, since = initial, None
    for when, values in readings:
        meter = rules.MeterFacts(
            key=usage.meter, digits=digits, decimals=usage.decimals, coefficient=usage.k,
            losses_percent=point.losses_percent, losses_kwh_month=point.losses_kwh_month,
            registers=tuple(rules.RegisterFacts(r, previous[r], since) for r in values))
        check = rules.check_meter(meter, values, as_of=when)
        for reg in check.registers:
            key = f"{reg.key}-{when:%Y%m}"
            db.add(DemoReading(key=key, register_key=reg.key, meter_key=usage.meter, point_key=usage.point,
                               as_of=when, value=values[reg.key], source=usage.source.value,
                               consumption_kwh=reg.consumption))
            log_change(db, ChangeKind.READINGS, key)
        previous, since = values, when


def _metered(db: Session, point: DemoPoint, use: _Usage, installation: str, installed: date,
             **kw: Any) -> None:
    """``use.meter`` installed at ``point`` on ``installed``, with its history of readings."""
    initial, readings = _history(use, installed)
    _install(db, installation, point.key, use.meter, installed, initial=initial, **kw)
    db.flush()
    _add_readings(db, use, point, initial, readings)


def _metering(db: Session, today: date) -> None:
    d1001, d1002 = month_start(today, -36), month_start(today, -30)
    d2001, d3001 = month_start(today, -48), month_start(today, -26)
    # The last accepted readings are as of the 1st of last month (the month before
    # that is closed); the remote-read point has this month's too.
    until, now = month_start(today, -1), month_start(today, 0)
    msk = "г. Москва, ул. Демонстрационная, д. 1"
    two = (Zone.DAY, Zone.NIGHT)
    one = (Zone.TOTAL,)
    nn, sn2 = VoltageLevel.NN.value, VoltageLevel.SN2.value
    day_night = {"day": Decimal("0.7"), "night": Decimal("0.3")}

    def usage(point: str, meter: str, k: str, decimals: int, kwh: str, shares: dict[str, Decimal],
              last: dict[str, str], **kw: Any) -> _Usage:
        return _Usage(point, meter, Decimal(k), decimals, Decimal(kwh),
                      {f"{meter}-{z}": v for z, v in shares.items()},
                      {f"{meter}-{z}": Decimal(v) for z, v in last.items()}, kw.pop("until", until), **kw)

    # Д-1001 «Офис»: a direct two-zone meter, replaced on the 14th of last month.
    swap = until + timedelta(days=13)
    office = _point("tu-1001-1", "ctr-1001", "Офис", f"{msk}, офис 12", d1001, voltage=nn,
                    max_power_kw=Decimal("60"))
    _add(db, ChangeKind.POINTS, office)
    _meter(db, "pu-1001-1a", serial="30112233", model="Меркурий 230 ART-01 CN", accuracy_class="1,0",
           digits=6, decimals=2, zones=two, verified_on=d1001 - timedelta(days=120), interval=10,
           connection=MeterConnection.DIRECT.value)
    _meter(db, "pu-1001-1b", serial="45678901", model="Меркурий 234 ARTM-01 PB.G", accuracy_class="1,0",
           digits=6, decimals=2, zones=two, verified_on=swap - timedelta(days=30), interval=16,
           connection=MeterConnection.DIRECT.value)
    old = usage("tu-1001-1", "pu-1001-1a", "1", 2, "4200", day_night,
                {"day": "112345.67", "night": "48765.43"})
    final = {r: v + old.units(r, until, Decimal(13) / Decimal(30)) for r, v in old.last.items()}
    _metered(db, office, old, "ust-1001-1a", d1001, removed=swap, final=final)
    _install(db, "ust-1001-1b", "tu-1001-1", "pu-1001-1b", swap,
             initial={"pu-1001-1b-day": Decimal("0.12"), "pu-1001-1b-night": Decimal("0.05")})

    # Д-1001 «Склад»: through current transformers 200/5 (K = 40), their verification
    # ends in 45 days; the day zone stands at 999 850,00, so a small new value is a rollover.
    ct_next = today + timedelta(days=45)
    ct_done = _years_later(ct_next, -8)
    store = _point("tu-1001-2", "ctr-1001", "Склад", f"{msk}, стр. 3", d1001, voltage=nn,
                   max_power_kw=Decimal("60"), losses_percent=Decimal("2"), losses_kwh_month=Decimal("150"))
    _add(db, ChangeKind.POINTS, store)
    _meter(db, "pu-1001-2", serial="41234567", model="Меркурий 234 ARTM-03 PB.G", accuracy_class="0,5S",
           digits=6, decimals=2, zones=two, verified_on=d1001 - timedelta(days=200), interval=16,
           connection=MeterConnection.CT.value,
           transformers=tuple((TransformerKind.CURRENT, 200, 5, "0,5S", ct_done, ct_next) for _ in range(3)))
    _metered(db, store, usage("tu-1001-2", "pu-1001-2", "40", 2, "7600",
                              {"day": Decimal("0.65"), "night": Decimal("0.35")},
                              {"day": "999850.00", "night": "412345.60"}), "ust-1001-2", d1001)

    # Д-1002 «Цех» (hourly, 15-digit code) and «Котельная» (read by the network's system).
    for n, name, code, power, ct, remote, serial, kwh, last in (
        (1, "Цех", "770101001000101", "600", 300, False, "0811234567", "180000", "2456.78"),
        (2, "Котельная", "770101001000102", "200", 100, True, "1209876543", "60000", "1873.40"),
    ):
        point, meter = f"tu-1002-{n}", f"pu-1002-{n}"
        verified = d1002 - timedelta(days=90)
        row = _point(point, "ctr-1002", name, f"г. Москва, Промышленный пр., д. 10, корп. {n}", d1002,
                     voltage=sn2, max_power_kw=Decimal(power), code=code, hourly=True, remote=remote)
        _add(db, ChangeKind.POINTS, row)
        _meter(db, meter, serial=serial, model="СЭТ-4ТМ.03М.01", accuracy_class="0,5S/1,0",
               digits=6, decimals=2, zones=one, verified_on=verified, interval=12,
               connection=MeterConnection.CT_VT.value,
               transformers=(
                   *((TransformerKind.CURRENT, ct, 5, "0,5S", verified, _years_later(verified, 8))
                     for _ in range(3)),
                   (TransformerKind.VOLTAGE, 10000, 100, "0,5", verified, _years_later(verified, 8)),
               ))
        k = str(ct // 5 * 100)
        _metered(db, row, usage(point, meter, k, 2, kwh, {"total": Decimal(1)}, {"total": last},
                                until=now if remote else until,
                                source=ReadingSource.REMOTE if remote else ReadingSource.CUSTOMER_FORM),
                 f"ust-1002-{n}", d1002)

    # Д-2001 and Д-3001: one single-zone meter each.
    for contract, name, address, starts, power, serial, model, kwh, last in (
        ("2001", "Контора", "Московская обл., г. Ногинск, ул. Рассветная, д. 5", d2001, "40",
         "009876543210", "Энергомера CE 101 R5.1", "900", "51234.5"),
        ("3001", "Магазин", "г. Москва, ул. Примерная, д. 7, пом. 1", d3001, "15",
         "12345678", "Нева 101 1S0", "600", "15678.9"),
    ):
        point, meter = f"tu-{contract}-1", f"pu-{contract}-1"
        row = _point(point, f"ctr-{contract}", name, address, starts, voltage=nn, max_power_kw=Decimal(power))
        _add(db, ChangeKind.POINTS, row)
        _meter(db, meter, serial=serial, model=model, accuracy_class="1,0", digits=6, decimals=1,
               zones=one, verified_on=starts - timedelta(days=60), interval=16,
               connection=MeterConnection.DIRECT.value)
        _metered(db, row, usage(point, meter, "1", 1, kwh, {"total": Decimal(1)}, {"total": last}),
                 f"ust-{contract}-1", starts)


def seed(db: Session, today: date) -> None:
    """Write the demo data into an empty demo billing (flushes, does not commit)."""
    _organisations(db)
    db.flush()
    _contracts(db, today)
    db.flush()
    _metering(db, today)
    db.flush()
    changes: list[dict[str, str]] = []
    demo_money.seed_history(db, today, log=lambda kind, key: changes.append({"kind": kind.value, "key": key}))
    db.flush()
    db.execute(sa.insert(DemoChange), changes)  # in one statement, in order


def is_seeded(db: Session) -> bool:
    return db.exec(select(DemoOrganisation.key).limit(1)).first() is not None


# PostgreSQL advisory lock of the first seeding (any number: this one is ours).
_SEED_LOCK = 0x6C6B6B5F73656564  # "lkk_seed"


def ensure_seeded(db: Session, today: date) -> bool:
    """Seed an empty demo billing; True when it did.  Several server processes
    start at once: on PostgreSQL they take turns on an advisory lock (held
    until the caller's commit), so one seeds and the others find it seeded; on
    SQLite the second writer waits for the first and its rows then collide —
    it rolls back and leaves the seeding to the first."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SEED_LOCK})
    if is_seeded(db):
        return False
    try:
        seed(db, today)
        db.flush()
    except sa.exc.IntegrityError:
        db.rollback()
        return False
    return True


def reset(db: Session, today: date) -> None:
    """Throw away everything the demo billing holds and seed it again.

    The change log is kept (and grows), so a cabinet's cursors stay valid and
    its next pull brings every restored record."""
    for table in DEMO_TABLES:
        if table is not DemoChange:
            db.execute(sa.delete(table))
    db.flush()
    seed(db, today)


def update_contract(db: Session, key: str, **values: Any) -> None:
    """Change a contract "in billing" (columns of ``demo_billing_contract``) and log it."""
    row = db.get(DemoContract, key)
    if row is None:
        raise KeyError(key)
    for name, value in values.items():
        if name not in DemoContract.model_fields or name in ("key", "number_key"):
            raise KeyError(name)
        setattr(row, name, value.value if hasattr(value, "value") else value)
    if "number" in values:
        row.number_key = contract_number_key(row.number)
    db.add(row)
    log_change(db, ChangeKind.CONTRACTS, key)
    db.flush()


LARGE_ORGANISATION = "org-large"


def _large_organisation(db: Session) -> None:
    """«ООО «Большая сеть-Демо»», unless it is there already."""
    if db.get(DemoOrganisation, LARGE_ORGANISATION) is None:
        _add(db, ChangeKind.ORGANISATIONS, DemoOrganisation(
            key=LARGE_ORGANISATION, inn="7702000004", kpp="770201001", ogrn="1027700000020",
            name="Общество с ограниченной ответственностью «Большая сеть-Демо»",
            short_name="ООО «Большая сеть-Демо»",
            legal_address="127001, г. Москва, ул. Сетевая, д. 2", postal_address="127001, г. Москва, ул. Сетевая, д. 2",
            emails="energo@large-demo.example", phone="+7 495 000-09-09"))
        db.flush()


def seed_large_customer(db: Session, today: date, *, contracts: int = 300, points: int = 5000) -> None:
    """An extra organisation with many contracts and points (for benchmarks):
    «ООО «Большая сеть-Демо»», ИНН 7702000004, contracts Д-9001…, the points
    spread evenly.  Flushes, does not commit."""
    starts = month_start(today, -12)
    _large_organisation(db)
    for n in range(contracts):
        _add(db, ChangeKind.CONTRACTS, _contract(
            f"ctr-L{n:04d}", LARGE_ORGANISATION, f"Д-{9001 + n}", starts, curator="central", valid_to=None,
            price_category=1 + n % 4, voltage=VoltageLevel.NN.value, max_power_kw=Decimal(50 + n % 7 * 10)))
    db.flush()
    for n in range(points):
        _add(db, ChangeKind.POINTS, _point(
            f"tu-L{n:05d}", f"ctr-L{n % contracts:04d}", f"Магазин № {n + 1}",
            f"г. Москва, ул. Сетевая, д. {n + 1}", starts, voltage=VoltageLevel.NN.value,
            max_power_kw=Decimal(15)))
    db.flush()


METERED_CONTRACT = "ctr-M0001"


def seed_metered_customer(db: Session, today: date, *, points: int = 1000) -> None:
    """One contract of «ООО «Большая сеть-Демо»» with many meters (for benchmarks
    of «Показания»): Д-8001 (readings taken on any day of the month), ``points``
    points «Магазин № N» each with a direct two-zone meter (6.2 digits, day and
    night) installed 25 months ago, and its 24 accepted monthly readings, the
    last as of the 1st of last month.  Goes with or without
    :func:`seed_large_customer`.  Flushes, does not commit."""
    starts, until = month_start(today, -25), month_start(today, -1)
    _large_organisation(db)
    _add(db, ChangeKind.CONTRACTS, _contract(
        METERED_CONTRACT, LARGE_ORGANISATION, "Д-8001", starts, curator="central", valid_to=None,
        price_category=2, voltage=VoltageLevel.NN.value, max_power_kw=Decimal(15 * points),
        window_first=1, window_last=31))
    db.flush()
    for n in range(points):
        point, meter = f"tu-M{n:04d}", f"pu-M{n:04d}"
        row = _point(point, METERED_CONTRACT, f"Магазин № {n + 1}", f"г. Москва, ул. Счётная, д. {n + 1}",
                     starts, voltage=VoltageLevel.NN.value, max_power_kw=Decimal(15))
        _add(db, ChangeKind.POINTS, row)
        _meter(db, meter, serial=f"6{n:07d}", model="Меркурий 230 ART-01 CN", accuracy_class="1,0", digits=6,
               decimals=2, zones=(Zone.DAY, Zone.NIGHT), verified_on=starts - timedelta(days=60), interval=16,
               connection=MeterConnection.DIRECT.value)
        use = _Usage(point, meter, Decimal(1), 2, Decimal(400 + n % 9 * 50),
                     {f"{meter}-day": Decimal("0.7"), f"{meter}-night": Decimal("0.3")},
                     {f"{meter}-day": Decimal(20000 + n * 13), f"{meter}-night": Decimal(8000 + n * 5)}, until)
        _metered(db, row, use, f"ust-M{n:04d}", starts)
    db.flush()
