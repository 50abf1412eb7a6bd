"""Bank requisites of the Russian kind: a БИК and the accounts it keys.

A settlement account (р/с, 20 digits) and a correspondent account (к/с) carry
a control digit (the 9th) computed with the bank's БИК (Банк России,
«Порядок расчёта контрольного ключа в номере лицевого счёта», weights 7, 1, 3
over 23 digits): the 3 last digits of the БИК before a р/с, «0» and the 5th–6th
digits of the БИК before a к/с.
"""

from __future__ import annotations

_WEIGHTS = (7, 1, 3) * 8


def _checksum(digits: str) -> int:
    return sum(int(d) * w % 10 for d, w in zip(digits, _WEIGHTS, strict=False)) % 10


def _is(value: str, length: int) -> bool:
    return len(value) == length and value.isascii() and value.isdigit()


def bik_valid(bik: str) -> bool:
    """Nine digits starting with 04 (a Russian bank)."""
    return _is(bik, 9) and bik.startswith("04")


def account_valid(account: str, bik: str) -> bool:
    """A р/с of the bank with this БИК (20 digits, its control digit right)."""
    return bik_valid(bik) and _is(account, 20) and _checksum(bik[-3:] + account) == 0


def corr_account_valid(account: str, bik: str) -> bool:
    """The bank's к/с (20 digits starting with 301, its control digit right)."""
    return (bik_valid(bik) and _is(account, 20) and account.startswith("301")
            and _checksum("0" + bik[4:6] + account) == 0)


def with_control_digit(account: str, prefix: str) -> str:
    """``account`` with its 9th digit set so that ``prefix + account`` checks out
    (``prefix``: the БИК's last 3 digits, or «0» and its 5th–6th)."""
    blank = account[:8] + "0" + account[9:]
    key = _checksum(prefix + blank) * 3 % 10
    return account[:8] + str(key) + account[9:]
