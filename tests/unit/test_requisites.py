"""The supplier's bank requisites: the control digit of the accounts with the
БИК, and the settings that refuse wrong ones."""

from __future__ import annotations

import pytest

from lkk_app.core import requisites
from lkk_app.settings import Requisites, SettingsError, load_settings


def test_real_accounts_check_out_and_a_changed_digit_does_not():
    # Сбербанк's correspondent account and a settlement account computed for a БИК.
    assert requisites.corr_account_valid("30101810400000000225", "044525225")
    assert not requisites.corr_account_valid("30101810400000000226", "044525225")
    account = requisites.with_control_digit("40702810000000012345", "225")
    assert account != "40702810000000012345" and requisites.account_valid(account, "044525225")
    for i in range(20):
        other = account[:i] + str((int(account[i]) + 1) % 10) + account[i + 1:]
        assert not requisites.account_valid(other, "044525225"), i
    assert not requisites.account_valid(account, "044525226")  # another bank
    assert not requisites.bik_valid("12345678") and not requisites.bik_valid("144525225")


def test_the_demo_requisites_are_valid(tmp_path):
    found = load_settings({"LKK_DATA_DIR": str(tmp_path)}).supplier
    assert found == Requisites()
    assert requisites.account_valid(found.account, found.bik)
    assert requisites.corr_account_valid(found.corr_account, found.bik)


def test_own_requisites_are_taken(tmp_path):
    env = {"LKK_DATA_DIR": str(tmp_path), "LKK_SUPPLIER_INN": "7707083893", "LKK_SUPPLIER_BIK": "044525225",
           "LKK_SUPPLIER_ACCOUNT": requisites.with_control_digit("40702810000000000001", "225"),
           "LKK_SUPPLIER_CORR_ACCOUNT": "30101810400000000225", "LKK_SUPPLIER_FULL_NAME": "ПАО «Энергосбыт»"}
    found = load_settings(env).supplier
    assert (found.inn, found.bik, found.full_name) == ("7707083893", "044525225", "ПАО «Энергосбыт»")


@pytest.mark.parametrize(("name", "value"), [
    ("LKK_SUPPLIER_INN", "7700000017"),  # check digit wrong
    ("LKK_SUPPLIER_INN", "500100732259"),  # a person's ИНН
    ("LKK_SUPPLIER_KPP", "77000100"),
    ("LKK_SUPPLIER_BIK", "0445259990"),
    ("LKK_SUPPLIER_ACCOUNT", "40702810700000012345"),
    ("LKK_SUPPLIER_CORR_ACCOUNT", "30101810700000000999"),
    ("LKK_SUPPLIER_FULL_NAME", "Я" * 201),
])
def test_wrong_requisites_are_refused_naming_the_variable(tmp_path, name, value):
    with pytest.raises(SettingsError) as caught:
        load_settings({"LKK_DATA_DIR": str(tmp_path), name: value})
    assert name in str(caught.value)
