"""The demo customer with many meters (``bench/readings.py``): one contract of
«ООО «Большая сеть-Демо»», 1 000 points by default, each with a two-zone
meter and its accepted readings.  Seeded here with a few points to stay fast."""

from __future__ import annotations

import inspect
import itertools
from collections import Counter
from datetime import date

from sqlmodel import select

from lkk_app.billing.adapters import demo_data
from lkk_app.billing.adapters.demo_tables import (
    DemoContract,
    DemoInstallation,
    DemoMeter,
    DemoOrganisation,
    DemoPoint,
    DemoReading,
    DemoRegister,
)
from lkk_app.billing.readings.rules import month_start

TODAY = date(2026, 12, 7)
POINTS = 12


def test_a_thousand_points_by_default():
    default = inspect.signature(demo_data.seed_metered_customer).parameters["points"].default
    assert default == 1000  # two registers each: 2 000


def test_one_contract_with_a_two_zone_meter_and_readings_at_every_point(db):
    demo_data.seed_large_customer(db, TODAY, contracts=2, points=3)
    demo_data.seed_metered_customer(db, TODAY, points=POINTS)
    db.commit()
    [organisation] = db.exec(select(DemoOrganisation)).all()  # shared with the large customer
    contract = db.get(DemoContract, demo_data.METERED_CONTRACT)
    assert organisation.key == contract.organisation_key == demo_data.LARGE_ORGANISATION
    assert (contract.window_first, contract.window_last) == (1, 31)

    points = db.exec(select(DemoPoint).where(DemoPoint.contract_key == contract.key)).all()
    installed = {i.point_key: i for i in db.exec(select(DemoInstallation)).all()}
    assert len(points) == POINTS and set(installed) == {p.key for p in points}
    meters = {i.meter_key for i in installed.values()}
    assert len(db.exec(select(DemoMeter)).all()) == POINTS
    registers = db.exec(select(DemoRegister)).all()
    assert {r.meter_key for r in registers} == meters and len(registers) == 2 * POINTS
    assert Counter(r.zone for r in registers) == {"day": POINTS, "night": POINTS}

    readings: dict[str, list[DemoReading]] = {}
    for reading in db.exec(select(DemoReading).order_by(DemoReading.as_of)).all():
        readings.setdefault(reading.register_key, []).append(reading)
    assert set(readings) == {r.key for r in registers}
    last_month = month_start(TODAY, -1)
    for register in registers:
        mine = readings[register.key]
        assert len(mine) == 24 and mine[-1].as_of == last_month
        assert all(a.value < b.value for a, b in itertools.pairwise(mine))
        assert all(r.consumption_kwh > 0 for r in mine)
