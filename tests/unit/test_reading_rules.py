"""The pure rules of meter readings (lkk_app/billing/readings/rules.py):
windows, the value's format and capacity, rollover against reverse,
consumption = Δ × K + losses, and the warnings — examples and properties."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lkk_app.billing.readings import rules
from lkk_app.billing.readings.rules import MeterFacts, RegisterFacts
from lkk_app.billing.types import ReadingWindow as Window
from lkk_app.core.errors import Code

D = Decimal


def meter(*registers: RegisterFacts, digits: int = 6, decimals: int = 2, k: str = "1", **kw) -> MeterFacts:
    return MeterFacts(key="m", digits=digits, decimals=decimals, coefficient=D(k),
                      registers=registers or (RegisterFacts("r", D("100"), date(2026, 11, 1)),), **kw)


def reg(key: str = "r", previous: str | None = "100", on: date | None = date(2026, 11, 1), **kw) -> RegisterFacts:
    return RegisterFacts(key, None if previous is None else D(previous), on, **kw)


def warning_keys(check) -> list[str]:
    return [w.code.key for w in check.warnings]


# --------------------------------------------------------------------------- windows


def test_a_wrapping_window_opens_in_the_month_and_closes_in_the_next():
    w = rules.window_of(date(2026, 11, 1), rules.parse_window("23-3"))
    assert (w.opens, w.closes) == (date(2026, 11, 23), date(2026, 12, 3))
    assert rules.open_window(date(2026, 12, 2), Window(23, 3)) == w
    assert rules.open_window(date(2026, 11, 23), Window(23, 3)) == w
    assert rules.open_window(date(2026, 12, 4), Window(23, 3)) is None
    assert rules.next_window(date(2026, 12, 4), Window(23, 3)).opens == date(2026, 12, 23)


def test_a_plain_window_lies_in_the_next_month_and_1_31_is_always_open():
    w = rules.window_of(date(2026, 1, 1), Window(1, 5))
    assert (w.opens, w.closes) == (date(2026, 2, 1), date(2026, 2, 5))
    for day in (date(2026, 2, 28), date(2026, 3, 1), date(2026, 12, 31), date(2027, 1, 1)):
        found = rules.open_window(day, Window(1, 31))
        assert found is not None and found.period == rules.month_start(day, -1)


def test_window_days_past_the_month_end_are_its_last_day():
    w = rules.window_of(date(2027, 1, 1), Window(30, 2))
    assert (w.opens, w.closes) == (date(2027, 1, 30), date(2027, 2, 2))
    assert rules.window_of(date(2027, 1, 1), Window(28, 31)).closes == date(2027, 2, 28)


@pytest.mark.parametrize("text", ["", "23", "23-", "a-3", "0-3", "23-32", "23–3"])
def test_bad_window_texts_are_refused(text):
    with pytest.raises(ValueError):
        rules.parse_window(text)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
       st.integers(1, 31), st.integers(1, 31))
def test_today_is_in_the_open_window_or_before_the_next(today, first, last):
    window = Window(first, last)
    found = rules.open_window(today, window)
    if found is not None:
        assert found.opens <= today <= found.closes
        assert rules.reading_date(found.period, today) <= today
    upcoming = rules.next_window(today, window)
    assert upcoming.opens > today
    assert upcoming.opens <= upcoming.closes


def test_the_reading_is_as_of_the_1st_or_today_when_earlier():
    assert rules.reading_date(date(2026, 11, 1), date(2026, 12, 3)) == date(2026, 12, 1)
    assert rules.reading_date(date(2026, 11, 1), date(2026, 11, 25)) == date(2026, 11, 25)


# --------------------------------------------------------------------------- format and capacity


@pytest.mark.parametrize("text, value", [
    ("1234,5", "1234.5"), ("1 234.50", "1234.5"), ("0", "0"), ("999999,99", "999999.99"),
    ("000123", "123"), ("12,300", "12.3"), ("1\u00a0000", "1000"),
])
def test_numbers_with_a_comma_or_a_point_are_read(text, value):
    assert rules.parse_value(text, 6, 2) == D(value)


@pytest.mark.parametrize("text, key", [
    ("-5", "reading.format"), ("12a", "reading.format"), ("1,2,3", "reading.format"), ("1e3", "reading.format"),
    (",5", "reading.format"), ("1000000", "reading.capacity"), ("12,345", "reading.capacity"),
])
def test_bad_values_have_a_code(text, key):
    result = rules.parse_value(text, 6, 2)
    assert isinstance(result, Code) and result.key == key


def test_blank_is_not_given():
    assert rules.parse_value("  ", 6, 2) is None and rules.parse_value(None, 6, 2) is None


@given(st.integers(1, 9), st.integers(0, 3), st.data())
def test_capacity_admits_exactly_what_the_counter_shows(digits, decimals, data):
    top = rules.capacity_max(digits, decimals)
    fitting = data.draw(st.decimals(min_value=0, max_value=top, places=decimals))
    assert rules.parse_value(format(fitting, "f"), digits, decimals) == fitting
    too_big = top + D(1).scaleb(-decimals)
    assert isinstance(rules.parse_value(format(too_big, "f"), digits, decimals), Code)
    if decimals < 3:
        finer = format(D(1).scaleb(-(decimals + 1)), "f")
        assert rules.parse_value(finer, digits, decimals) == Code(
            "reading.capacity", digits=digits, decimals=decimals, max=top)


# --------------------------------------------------------------------------- rollover and reverse


@given(st.integers(1, 8), st.data())
@settings(max_examples=200)
def test_below_the_previous_is_a_rollover_exactly_when_through_zero_is_under_half(digits, data):
    span = D(10) ** digits
    previous = data.draw(st.decimals(min_value=1, max_value=span - 1, places=0))
    value = data.draw(st.decimals(min_value=0, max_value=previous - 1, places=0))
    step, rolled = rules.delta(previous, value, digits)
    assert rolled == (value + span - previous < span / 2)
    assert step == (value + span - previous if rolled else value - previous)
    assert (step > 0) == rolled


def test_the_boundary_between_rollover_and_reverse():
    # 6 digits: 10^6 / 2 = 500 000 units through zero is the limit.
    assert rules.delta(D("999850"), D("150"), 6) == (D("300"), True)
    assert rules.delta(D("600000"), D("99999"), 6) == (D("499999"), True)
    assert rules.delta(D("600000"), D("100000"), 6) == (D("-500000"), False)


def test_a_small_new_value_after_999850_is_a_rollover_warning_with_the_numbers():
    m = meter(reg("day", "999850.00"), reg("night", "412000"), k="40")
    check = rules.check_meter(m, {"day": "150,00", "night": "412010"}, as_of=date(2026, 12, 1))
    day = check.registers[0]
    assert day.rollover and day.delta == D("300") and day.energy == D("12000")
    assert check.warnings[0].code == Code("reading.rollover", previous=D("999850.00"), date=date(2026, 11, 1),
                                          value=D("150"), consumption=D("12000"))
    assert check.warnings[0].token == "reading.rollover:day"


def test_a_reverse_reading_needs_its_warning_and_a_comment():
    check = rules.check_meter(meter(), {"r": "90"}, as_of=date(2026, 12, 1))
    assert warning_keys(check) == ["reading.reverse"] and check.registers[0].delta == D("-10")
    assert rules.unconfirmed([check], [], {}) == {"r": Code("reading.not_confirmed")}
    assert rules.unconfirmed([check], ["reading.reverse:r"], {"r": "  "}) == {
        "r": Code("reading.comment_required")}
    assert rules.unconfirmed([check], ["reading.reverse:r"], {"r": "Прошлое показание завышено"}) == {}


# --------------------------------------------------------------------------- consumption


def test_consumption_is_delta_times_k_plus_percent_and_constant_losses():
    m = meter(reg("day", "1000"), reg("night", "500"), k="40", losses_percent=D("2"), losses_kwh_month=D("150"))
    check = rules.check_meter(m, {"day": "1030", "night": "510"}, as_of=date(2026, 12, 1))
    day, night = check.registers
    assert (day.energy, night.energy) == (D("1200.00"), D("400.00"))
    # 2 % of each, and 150 кВт·ч shared 3 : 1.
    assert (day.losses, night.losses) == (D("24.00") + D("112.50"), D("8.00") + D("37.50"))
    assert check.consumption == D("1600") + D("32") + D("150")


@given(st.lists(st.decimals(min_value=-1000, max_value=10**6, places=2), min_size=1, max_size=3),
       st.decimals(min_value=0, max_value=10**4, places=2))
def test_constant_losses_are_shared_to_the_cent(energies, constant):
    shares = rules.share_constant(energies, constant)
    assert len(shares) == len(energies)
    assert sum(shares, D(0)) == constant
    assert all(s >= 0 for s in shares)


@given(st.integers(0, 10**5), st.integers(0, 10**4), st.sampled_from(["1", "40", "80", "6000"]),
       st.decimals(min_value=0, max_value=10, places=1))
def test_consumption_grows_with_k_and_losses(previous, step, k, percent):
    m = meter(reg("r", str(previous)), k=k, losses_percent=percent)
    check = rules.check_meter(m, {"r": str(previous + step)}, as_of=date(2026, 12, 1))
    r = check.registers[0]
    assert r.energy == D(step) * D(k)
    assert r.consumption == r.energy + (r.energy * percent / 100).quantize(D("0.01"), rounding="ROUND_HALF_UP")
    assert r.consumption >= r.energy


# --------------------------------------------------------------------------- hard errors and other warnings


def test_a_meter_given_in_part_blocks_and_a_blank_meter_is_not_given():
    m = meter(reg("day"), reg("night"))
    check = rules.check_meter(m, {"day": "120"}, as_of=date(2026, 12, 1))
    assert not check.ok and check.registers[1].error == Code("reading.registers")
    blank = rules.check_meter(m, {"day": "", "night": " "}, as_of=date(2026, 12, 1))
    assert not blank.given and blank.ok and blank.warnings == ()


def test_remote_and_inactive_meters_are_refused():
    assert rules.check_meter(meter(remote=True), {"r": "120"}, as_of=date(2026, 12, 1)).error == Code(
        "reading.remote")
    assert rules.check_meter(meter(active=False), {"r": "120"}, as_of=date(2026, 12, 1)).error == Code(
        "reading.inactive", date=date(2026, 12, 1))


def test_spike_zero_impossible_and_verification_warnings():
    as_of = date(2026, 12, 1)
    spike = rules.check_meter(meter(reg(average=D("10"), months=12)), {"r": "131"}, as_of=as_of)
    assert warning_keys(spike) == ["reading.spike"] and spike.warnings[0].code.params["average"] == D("10.00")
    few_months = rules.check_meter(meter(reg(average=D("10"), months=2)), {"r": "131"}, as_of=as_of)
    assert warning_keys(few_months) == []
    assert warning_keys(rules.check_meter(meter(), {"r": "100"}, as_of=as_of)) == ["reading.zero"]
    # 60 кВт for 30 days is 43 200 кВт·ч at most.
    big = rules.check_meter(meter(reg(previous="0"), k="40", max_power_kw=D("60")), {"r": "1081"}, as_of=as_of)
    assert warning_keys(big) == ["reading.impossible"] and big.warnings[0].target == "m"
    assert big.warnings[0].code.params["limit"] == D("43200")
    expired = rules.check_meter(meter(verification_due=date(2026, 11, 30)), {"r": "120"}, as_of=as_of)
    assert warning_keys(expired) == ["reading.verification"]


def test_a_first_reading_has_no_consumption_and_no_warnings():
    check = rules.check_meter(meter(reg(previous=None, on=None)), {"r": "5"}, as_of=date(2026, 12, 1))
    assert check.ok and check.warnings == () and check.registers[0].consumption is None
