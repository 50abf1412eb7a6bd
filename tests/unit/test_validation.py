"""Field rules (SECURITY.md, "Passwords and credentials")."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lkk_app.i18n import t
from lkk_app.auth import validation as v
from lkk_app.core.errors import Code, FieldErrors

# --------------------------------------------------------------------------- login


@pytest.mark.parametrize(
    "raw",
    [
        "ivan",
        "Ivan.Petrov_2024-x",
        "abc",
        "a" * 32,
        "бухгалтер",
        "Ёлкин",
        "ёжик-01",
        "  ivan  ",  # surrounding whitespace is removed, not an error
        "ＩＶＡＮ",  # full-width: NFKC turns it into IVAN
        "ООО.Ромашка",
    ],
)
def test_login_accepted(raw):
    assert v.login_error(raw) is None


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("", "login_field.empty"),
        ("   ", "login_field.empty"),
        (None, "login_field.empty"),
        ("ab", "login_field.length"),
        ("  ab  ", "login_field.length"),
        ("a" * 33, "login_field.length"),
        ("x" * 10_000, "login_field.length"),
        ("iv an", "login_field.chars"),
        ("ivan@corp", "login_field.chars"),
        ("ivan!", "login_field.chars"),
        ("ivan\x00x", "login_field.chars"),
        ("ivan\nx", "login_field.chars"),
        ("straße", "login_field.chars"),  # Latin letters are A–Z only
        ("café", "login_field.chars"),
        ("іван", "login_field.chars"),  # Ukrainian і is not in the Russian alphabet
        ("ivan١٢", "login_field.chars"),  # Arabic-Indic digits
        ("ivan<script>", "login_field.chars"),
    ],
)
def test_login_rejected(raw, key):
    assert v.login_error(raw) == Code(key)


def test_login_length_counts_characters_not_bytes():
    assert v.login_error("ж" * 32) is None  # 64 bytes in UTF-8
    assert v.login_error("ж" * 33) == Code("login_field.length")


def test_login_normalisation_and_key():
    assert v.normalize_login("  Ivan ") == "Ivan"
    assert v.normalize_login("ＩＶＡＮ") == "IVAN"
    assert v.login_key("Ivan") == v.login_key("ivan") == v.login_key("ＩＶＡＮ") == "ivan"
    assert v.login_key("ЁЛКИН") == v.login_key("ёлкин")
    assert v.login_key("Иван") != v.login_key("Ivan")


@pytest.mark.parametrize(
    "raw",
    [
        "ivanоv",  # Cyrillic «о» among Latin letters
        "аdmin",  # Cyrillic «а»
        "Ivanов",
        "ООО.Romashka",
        "ＩＶＡＮов",  # full-width Latin (NFKC) and Cyrillic
    ],
)
def test_login_mixing_alphabets_is_refused(raw):
    assert v.login_error(raw) == Code("login_field.mixed_scripts")
    assert t("login_field.mixed_scripts").startswith("Логин должен состоять из букв одного алфавита")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("ivanov", "IVANOV"),
        ("ivanov", "ivan0v"),  # digit zero
        ("cop", "сор"),  # all three letters Cyrillic
        ("xoxo", "хохо"),
        ("apex", "арех"),
        ("kom", "korn"),  # «rn» looks like «m»
        ("ivan1", "ivanl"),
        ("ёжик", "ЁЖИК"),
    ],
)
def test_look_alike_logins_share_a_skeleton(first, second):
    assert v.login_error(first) is None and v.login_error(second) is None
    assert v.login_skeleton(first) == v.login_skeleton(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [("ivanov", "ivanova"), ("иван", "ivan"), ("ежик", "ёжик"), ("ivan.ov", "ivan_ov"), ("nina", "niна")],
)
def test_different_logins_keep_different_skeletons(first, second):
    assert v.login_skeleton(first) != v.login_skeleton(second)


def test_skeleton_follows_uts39_and_the_mixed_login_matches_its_latin_twin():
    """UTS #39: skeleton = NFD(prototypes of NFD(X)); the table is the real
    confusables.txt (thousands of entries, Cyrillic and Greek letters among them)."""
    table = v._confusable_prototypes()
    assert len(table) > 6000
    assert table["о"] == "o" and table["а"] == "a" and table["Ο"] == "O"  # Cyrillic, Cyrillic, Greek
    assert v.skeleton("раураl") == "paypal"
    assert v.skeleton("paypal") == "paypal"
    # A mixed login is refused outright, but its skeleton is its Latin twin's too.
    assert v.login_skeleton("ivanоv") == v.login_skeleton("ivanov") == "ivanov"
    assert v.login_skeleton("аdmin") == v.login_skeleton("admin")
    assert v.login_skeleton("") == "" and v.login_skeleton(None) == ""


# --------------------------------------------------------------------------- e-mail


@pytest.mark.parametrize(
    "raw",
    [
        "user@example.com",
        "User.Name+tag@Example.COM",
        "o'brien@mail.example.org",
        "x@a.ru",
        "  buh@corp.ru  ",
        "buh@пример.рф",  # IDN domain
        "a" * 64 + "@example.com",
        "a@" + ".".join(["b" * 63] * 3) + ".ru",
        "first.last@sub-domain.example.co.uk",
    ],
)
def test_email_accepted(raw):
    assert v.email_error(raw) is None


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("", "email.empty"),
        ("   ", "email.empty"),
        (None, "email.empty"),
        ("userexample.com", "email.invalid"),
        ("user@@example.com", "email.invalid"),
        ("a@b@example.com", "email.invalid"),
        ("@example.com", "email.invalid"),
        ("user@", "email.invalid"),
        ("user@localhost", "email.invalid"),
        ("user@example..com", "email.invalid"),
        ("user@.example.com", "email.invalid"),
        ("user@example.com.", "email.invalid"),
        ("user@-example.com", "email.invalid"),
        ("user@example-.com", "email.invalid"),
        ("user@exa_mple.com", "email.invalid"),
        ("user@" + "b" * 64 + ".com", "email.invalid"),  # label over 63
        ("user@1.2.3.4", "email.invalid"),
        ("user@[1.2.3.4]", "email.invalid"),
        (".user@example.com", "email.invalid"),
        ("user.@example.com", "email.invalid"),
        ("us..er@example.com", "email.invalid"),
        ('"quoted"@example.com', "email.invalid"),
        ("us er@example.com", "email.invalid"),
        ("user@exa mple.com", "email.invalid"),
        ("user@example.com\r\nBcc: victim@example.com", "email.invalid"),
        ("user@example.com\n", "email.invalid"),
        ("\ruser@example.com", "email.invalid"),
        ("user\x00@example.com", "email.invalid"),
        ("user\t@example.com", "email.invalid"),
        ("юзер@example.com", "email.invalid"),  # non-ASCII local part (needs SMTPUTF8)
        # Caught by email-validator, passed by the former hand-written rules:
        ("user@example.invalid", "email.invalid"),  # special-use names (RFC 6761)
        ("user@server.local", "email.invalid"),
        ("user@example.test", "email.invalid"),
        ("user@xn--abc.com", "email.invalid"),  # not valid Punycode
        ("user@ab--cd.com", "email.invalid"),  # «--» in 3rd–4th place is reserved for «xn--»
        ("a" * 65 + "@example.com", "email.too_long"),
        ("a" * 300 + "@example.com", "email.too_long"),
    ],
)
def test_email_rejected(raw, key):
    assert v.email_error(raw) == Code(key)


def test_email_limits_are_exact():
    # A 251-character domain made of labels of at most 63 characters.
    domain = ".".join(["b" * 63, "c" * 63, "d" * 63, "e" * 59])
    assert len(domain) == 251
    assert v.email_error("aa@" + domain) is None  # 254 in all
    assert v.email_error("aaa@" + domain) == Code("email.too_long")  # 255
    assert v.email_error("a" * 64 + "@example.com") is None
    assert v.email_error("a" * 65 + "@example.com") == Code("email.too_long")


def test_email_idn_domain_and_key():
    assert v.email_error("buh@пример.рф") is None
    assert v.email_key("  Buh@Corp.RU ") == "buh@corp.ru"
    assert v.email_key("ivan@example.com") == v.email_key("IVAN@EXAMPLE.COM")


# --------------------------------------------------------------------------- phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+7 (912) 345-67-89", "+79123456789"),
        ("8 912 345 67 89", "+79123456789"),
        ("89123456789", "+79123456789"),
        ("+79123456789", "+79123456789"),
        ("9123456789", "+79123456789"),
        ("79123456789", "+79123456789"),
        ("8 (495) 123-45-67", "+74951234567"),
        ("8-800-555-35-35", "+78005553535"),
        ("+7 912 345–67–89", "+79123456789"),  # en dashes
        ("＋７ ９１２ ３４５ ６７ ８９", "+79123456789"),  # full-width
        ("+49 30 1234567", "+49301234567"),
        ("+375 29 123-45-67", "+375291234567"),
        ("+1 (202) 555-0100", "+12025550100"),
        ("810 49 30 1234567", "+49301234567"),  # the Russian way to dial abroad
        ("8 (3412) 12-34-56", "+73412123456"),  # a five-digit area code
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_phone_normalised(raw, expected):
    assert v.normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "12345",
        "912345678",  # 9 digits
        "891234567890",  # 12 digits with 8
        "+7912345678",  # +7 with 10 digits
        "+791234567890",  # +7 with 12 digits
        "+1234567",  # 7 digits
        "+1234567890123456",  # 16 digits
        "+0123456789",
        "0123456789",
        "69123456789",  # 11 digits not starting with 7/8
        "+7 912 abc 67 89",
        "+7 912 345 67 89 доб. 12",
        "7+9123456789",
        "++79123456789",
        "+7\x009123456789",
        "8912345678٩",  # Arabic-Indic digit
        "1" * 100,
        # Not numbers of any numbering plan (the former rules took any 8–15 digits after «+»):
        "+123456789012345",
        "+12345678",
        "+7 000 000-00-00",
        "8 (100) 123-45-67",
        "+44 20 1234",
    ],
)
def test_phone_rejected(raw):
    with pytest.raises(FieldErrors) as info:
        v.normalize_phone(raw)
    assert info.value.codes() == {"phone": "phone.invalid"}


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("+74951234567", "+7 495 123-45-67"),
        ("+79123456789", "+7 912 345-67-89"),
        ("+78005553535", "+7 800 555-35-35"),
        ("8 (495) 123 45 67", "+7 495 123-45-67"),
        ("+49301234567", "+49 30 1234567"),
        ("+375291234567", "+375 29 123-45-67"),
        ("", ""),
        (None, ""),
        ("не номер", "не номер"),  # shown as it is
    ],
)
def test_phone_formatted(stored, shown):
    assert v.format_phone(stored) == shown


def test_phone_link():
    assert v.phone_link("8 800 000-00-00") == "tel:+7-800-000-00-00"
    assert v.phone_link("+7 (495) 123-45-67") == "tel:+7-495-123-45-67"


_MOBILE = st.integers(min_value=900_000_00_00, max_value=999_999_99_99).map(str)
_WRITTEN = st.sampled_from([
    "+7{a}{b}{c}{d}", "8{a}{b}{c}{d}", "7{a}{b}{c}{d}", "{a}{b}{c}{d}",
    "+7 ({a}) {b}-{c}-{d}", "8 {a} {b} {c} {d}", "8-{a}-{b}-{c}-{d}", "+7\u00a0{a}\u00a0{b}\u2013{c}\u2013{d}",
])


@settings(max_examples=300, deadline=None)
@given(_MOBILE, _WRITTEN)
def test_a_russian_number_written_any_way_is_one_number(digits, written):
    raw = written.format(a=digits[:3], b=digits[3:6], c=digits[6:8], d=digits[8:])
    if not phonenumbers.is_valid_number(phonenumbers.parse("+7" + digits)):
        with pytest.raises(FieldErrors):
            v.normalize_phone(raw)
        return
    stored = v.normalize_phone(raw)
    assert stored == "+7" + digits
    assert v.format_phone(stored) == f"+7 {digits[:3]} {digits[3:6]}-{digits[6:8]}-{digits[8:]}"
    assert v.normalize_phone(v.format_phone(stored)) == stored  # the shown form reads back


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_phone_never_crashes_and_keeps_its_word(raw):
    try:
        stored = v.normalize_phone(raw)
    except FieldErrors as exc:
        assert exc.codes() == {"phone": "phone.invalid"}
        return
    assert stored is None or (stored.startswith("+") and stored[1:].isdigit())


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"[a-z][a-z0-9]{0,20}(\.[a-z0-9]{1,10}){0,2}@[a-z][a-z0-9-]{0,20}[a-z0-9]\.(ru|com|рф)",
                     fullmatch=True))
def test_ordinary_addresses_are_accepted(address):
    assume("--" not in address.partition("@")[2])
    assert v.email_error(address) is None


# --------------------------------------------------------------------------- password


@pytest.mark.parametrize(
    "raw",
    [
        "Kx7#pQ2!vL",
        "a" * 7 + "Z",  # exactly 8, not on the list
        "correct horse battery staple",
        "        x",  # spaces count, nothing is trimmed
        "Зелёный слон летит 7 раз",
        "ж" * 128,
        "Пароль с пробелами в конце   ",
    ],
)
def test_password_accepted(raw):
    assert v.password_error(raw, "ivan") is None


@pytest.mark.parametrize(
    ("raw", "login", "key"),
    [
        ("", "", "password.empty"),
        (None, "", "password.empty"),
        ("Ab1!x2?", "", "password.too_short"),  # 7
        ("   x   ", "", "password.too_short"),  # 7, spaces not trimmed but not enough
        ("ж" * 129, "", "password.too_long"),
        ("x" * 10_000, "", "password.too_long"),
        ("password", "", "password.common"),
        ("PASSWORD", "", "password.common"),  # compared casefolded
        ("qwerty123", "", "password.common"),
        ("iloveyou", "", "password.common"),
        ("12345678", "", "password.common"),
        ("gfhjkm123", "", "password.common"),
        ("пароль123", "", "password.common"),  # = gfhjkm123 on the Latin layout
        ("йцукен123", "", "password.common"),  # = qwerty123
        ("ivanpetrov", "ivanpetrov", "password.contains_login"),
        ("IvanPetrov", "ivanpetrov", "password.contains_login"),
        ("my-IVAN.p-2024!", "Ivan.P", "password.contains_login"),
        ("Зелёный-Бухгалтер1", "бухгалтер", "password.contains_login"),
        ("xx ＩＶＡＮ.Ｐ yy", "ivan.p", "password.contains_login"),
    ],
)
def test_password_rejected(raw, login, key):
    assert v.password_error(raw, login) == Code(key)


def test_password_length_counts_code_points_after_nfkc():
    # "ﬁ" (one code point) becomes "fi" (two) under NFKC.
    assert v.password_error("ﬁ" * 4, "") is None  # 4 raw, 8 after NFKC
    assert v.password_error("ﬁ" * 65, "") == Code("password.too_long")  # 65 raw, 130 after NFKC
    # Decomposed "й" (и + combining breve) composes to one code point.
    decomposed = "и\u0306" * 100  # 200 raw code points, 100 after NFKC
    assert v.password_error(decomposed, "") is None


def test_password_login_check_only_when_login_given():
    assert v.password_error("ivanpetrov2024", "") is None
    assert v.password_error("ivanpetrov2024", None) is None
    assert v.password_error("ivanpetrov2024", "ivanpetrov") == Code("password.contains_login")


def test_common_list_is_large_and_casefolded():
    common = v.common_passwords()
    assert len(common) >= 10_000
    assert "password" in common and "qwerty" in common
    assert all(word == word.casefold() for word in list(common)[:1000])
