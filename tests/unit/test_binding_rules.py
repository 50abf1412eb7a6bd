"""The pure rules of contract binding: form checks, masking, limits, resend."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from lkk_app.billing import binding_rules as rules

NOW = datetime(2026, 12, 4, 10, 0, 0)


def test_a_company_lookup_is_cleaned():
    lookup, errors = rules.check_lookup(" 7701 000001 ", "770101001", "  Д-1001 ")
    assert errors == {}
    assert lookup == rules.Lookup(inn="7701000001", kpp="770101001", number="Д-1001")


def test_an_entrepreneur_needs_no_kpp_and_any_typed_is_ignored():
    assert not rules.needs_kpp("771200000003") and rules.needs_kpp("7701000001")
    lookup, errors = rules.check_lookup("771200000003", "", "Д-3001")
    assert errors == {} and lookup is not None and lookup.kpp is None
    lookup, errors = rules.check_lookup("771200000003", "123", "Д-3001")
    assert errors == {} and lookup is not None and lookup.kpp is None


def test_kpp_letters_are_upper_cased():
    lookup, errors = rules.check_lookup("7701000001", "7701ab001", "Д-1001")
    assert errors == {} and lookup is not None and lookup.kpp == "7701AB001"


@pytest.mark.parametrize("inn,kpp,number,expected", [
    ("", "770101001", "Д-1001", {"inn": "binding.inn_required"}),
    ("770100000", "770101001", "Д-1001", {"inn": "binding.inn_length"}),
    ("77010000011", "770101001", "Д-1001", {"inn": "binding.inn_length"}),
    ("77010000О1", "770101001", "Д-1001", {"inn": "binding.inn_length"}),  # a Cyrillic О
    ("７７０１０００００１", "770101001", "Д-1001", {"inn": "binding.inn_length"}),  # full-width digits
    ("7701000002", "770101001", "Д-1001", {"inn": "binding.inn_checksum"}),
    ("771200000004", "", "Д-3001", {"inn": "binding.inn_checksum"}),
    ("7701000001", "", "Д-1001", {"kpp": "binding.kpp_required"}),
    ("7701000001", "77010100", "Д-1001", {"kpp": "binding.kpp_format"}),
    ("7701000001", "7701010011", "Д-1001", {"kpp": "binding.kpp_format"}),
    ("7701000001", "77АБ01001", "Д-1001", {"kpp": "binding.kpp_format"}),  # Cyrillic letters
    ("7701000001", "770101001", "   ", {"number": "binding.number_required"}),
    ("7701000001", "770101001", "Д" * 41, {"number": "binding.number_format"}),
    ("7701000001", "770101001", "Д-1001\x00", {"number": "binding.number_format"}),
    ("", "", "", {"inn": "binding.inn_required", "kpp": "binding.kpp_required",
                  "number": "binding.number_required"}),
])
def test_every_bad_field_gets_its_code(inn, kpp, number, expected):
    lookup, errors = rules.check_lookup(inn, kpp, number)
    assert lookup is None and errors == expected


@pytest.mark.parametrize("address,masked", [
    ("energo@romashka-demo.example", "e***@romashka-demo.example"),
    ("b@zarya-demo.example", "b***@zarya-demo.example"),
    ("no-at-sign", "***"),
])
def test_the_email_of_record_is_shown_masked(address, masked):
    assert rules.mask_email(address) == masked


def test_a_new_code_waits_a_minute_after_the_last():
    assert rules.can_resend(None, NOW) is None
    assert rules.can_resend(NOW - timedelta(seconds=59), NOW) == NOW + timedelta(seconds=1)
    assert rules.can_resend(NOW - timedelta(seconds=60), NOW) is None
