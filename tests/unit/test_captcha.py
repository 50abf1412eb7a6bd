"""«Код авторизации» (SECURITY.md, "Tokens, codes, temporary passwords"); SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from PIL import Image
from sqlmodel import select

from lkk_app.models import CaptchaChallenge
from lkk_app.auth import captcha
from lkk_app.settings import SettingsError, load_settings

CODE = "735190"


@pytest.fixture
def fixed(make_settings):
    """Development settings whose captcha always shows :data:`CODE`."""
    return make_settings(captcha_fixed_code=CODE)


def row_of(db, challenge_id: str) -> CaptchaChallenge:
    db.expire_all()
    return db.exec(select(CaptchaChallenge).where(CaptchaChallenge.challenge_id == challenge_id)).one()


# --------------------------------------------------------------------------- creation


def test_new_challenge_stores_a_keyed_hash_and_expires_in_five_minutes(db, fixed, frozen_clock):
    challenge_id, png = captcha.new_challenge(db, settings=fixed)
    db.commit()
    assert len(challenge_id) == 32 and challenge_id.replace("-", "").replace("_", "").isalnum()
    row = row_of(db, challenge_id)
    assert row.created_at == frozen_clock.now
    assert row.expires_at == frozen_clock.now + timedelta(minutes=5)
    assert row.used_at is None
    assert len(row.answer_hash) == 64
    # Keyed with the secret: a leaked table cannot be brute-forced offline.
    assert row.answer_hash != hashlib.sha256(f"{challenge_id}:{CODE}".encode()).hexdigest()


def test_png_is_a_valid_220x70_image(db, settings):
    _, png = captcha.new_challenge(db, settings=settings)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (220, 70)
    image.verify()
    # Not a blank picture: the digits are drawn.
    pixels = Image.open(io.BytesIO(png)).convert("L")
    lo, hi = pixels.getextrema()
    assert hi - lo > 60


def test_png_data_url():
    assert captcha.png_data_url(b"\x89PNG").startswith("data:image/png;base64,")


def test_random_codes_are_six_or_seven_digits():
    codes = [captcha._random_code() for _ in range(300)]
    assert all(c.isascii() and c.isdigit() for c in codes)
    assert {len(c) for c in codes} == {6, 7}
    assert len(set(codes)) > 290


def test_every_challenge_id_is_new(db, settings):
    ids = {captcha.new_challenge(db, settings=settings)[0] for _ in range(5)}
    assert len(ids) == 5


def test_the_answer_is_never_stored_in_plain_text(db, settings, engine, monkeypatch):
    issued: list[str] = []
    original = captcha._random_code

    def spy() -> str:
        issued.append(original())
        return issued[-1]

    monkeypatch.setattr(captcha, "_random_code", spy)
    challenge_id, _ = captcha.new_challenge(db, settings=settings)
    db.commit()
    (code,) = issued
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM lkk_captcha")).mappings().all()
    assert len(rows) == 1
    for column, value in rows[0].items():
        assert code not in str(value), column
    assert captcha.verify(db, challenge_id, code, settings=settings) is True


# --------------------------------------------------------------------------- verification


def test_right_answer_passes_once(db, fixed):
    challenge_id, _ = captcha.new_challenge(db, settings=fixed)
    db.commit()
    assert captcha.verify(db, challenge_id, CODE, settings=fixed) is True
    db.commit()
    assert captcha.verify(db, challenge_id, CODE, settings=fixed) is False
    assert row_of(db, challenge_id).used_at is not None


def test_wrong_answer_consumes_the_challenge(db, fixed):
    challenge_id, _ = captcha.new_challenge(db, settings=fixed)
    db.commit()
    assert captcha.verify(db, challenge_id, "000000", settings=fixed) is False
    db.commit()
    assert row_of(db, challenge_id).used_at is not None
    assert captcha.verify(db, challenge_id, CODE, settings=fixed) is False


@pytest.mark.parametrize("answer", [f" {CODE} ", "735 190", "7 3 5 1 9 0", "\t735190\n", "７３５１９０"])
def test_blanks_are_ignored(db, fixed, answer):
    challenge_id, _ = captcha.new_challenge(db, settings=fixed)
    assert captcha.verify(db, challenge_id, answer, settings=fixed) is True


@pytest.mark.parametrize(
    "answer", ["", "   ", None, 735190, "73519", "7351900", CODE + "0" * 11, CODE + "x" * 1000]
)
def test_bad_answers_fail_and_consume(db, fixed, answer):
    challenge_id, _ = captcha.new_challenge(db, settings=fixed)
    assert captcha.verify(db, challenge_id, answer, settings=fixed) is False
    assert captcha.verify(db, challenge_id, CODE, settings=fixed) is False


def test_answers_longer_than_16_characters_fail(db, fixed, monkeypatch):
    long_code = "1" * 17
    monkeypatch.setattr(captcha, "_code_for", lambda settings: long_code)
    challenge_id, _ = captcha.new_challenge(db, settings=fixed)
    assert captcha.verify(db, challenge_id, long_code, settings=fixed) is False


@pytest.mark.parametrize("challenge_id", ["", None, "x" * 32 + "!", "short", "Ж" * 32, 42, "a" * 33])
def test_unknown_or_malformed_challenge_fails(db, fixed, challenge_id):
    captcha.new_challenge(db, settings=fixed)
    assert captcha.verify(db, challenge_id, CODE, settings=fixed) is False


def test_unknown_well_formed_challenge_fails(db, fixed):
    captcha.new_challenge(db, settings=fixed)
    assert captcha.verify(db, "A" * 32, CODE, settings=fixed) is False


def test_challenge_expires_after_five_minutes(db, fixed, frozen_clock):
    fresh, _ = captcha.new_challenge(db, settings=fixed)
    old, _ = captcha.new_challenge(db, settings=fixed)
    db.commit()
    frozen_clock.advance(minutes=4, seconds=59)
    assert captcha.verify(db, fresh, CODE, settings=fixed) is True
    frozen_clock.advance(seconds=1)
    assert captcha.verify(db, old, CODE, settings=fixed) is False


def test_answer_is_bound_to_the_secret_key(db, fixed):
    challenge_id, _ = captcha.new_challenge(db, settings=fixed)
    other = dataclasses.replace(fixed, secret_key=b"another-secret-key-0123456789-abcdefgh")
    assert captcha.verify(db, challenge_id, CODE, settings=other) is False


def test_answer_is_bound_to_its_challenge(db, make_settings):
    first, _ = captcha.new_challenge(db, settings=make_settings(captcha_fixed_code="111111"))
    second, _ = captcha.new_challenge(db, settings=make_settings(captcha_fixed_code="222222"))
    s = make_settings()
    assert captcha.verify(db, first, "222222", settings=s) is False
    assert captcha.verify(db, second, "222222", settings=s) is True


def test_concurrent_guesses_at_most_one_passes(db, fixed, new_session):
    challenge_id, _ = captcha.new_challenge(db, settings=fixed)
    db.commit()
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    results: list[bool] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    sessions = [new_session() for _ in range(threads_count)]

    def guess(session) -> None:
        try:
            barrier.wait(timeout=30)
            ok = captcha.verify(session, challenge_id, CODE, settings=fixed)
            session.commit()
            with lock:
                results.append(ok)
        except BaseException as exc:  # pragma: no cover - reported below
            session.rollback()
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=guess, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(results) == threads_count
    assert results.count(True) == 1


# --------------------------------------------------------------------------- fixed code setting


def test_fixed_code_is_honoured_in_development(tmp_path, db):
    s = load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_CAPTCHA_FIXED_CODE": " 1234567 "})
    assert s.captcha_fixed_code == "1234567"
    challenge_id, _ = captcha.new_challenge(db, settings=s)
    assert captcha.verify(db, challenge_id, "1234567", settings=s) is True


def test_fixed_code_defaults_to_random(tmp_path):
    assert load_settings({"LKK_DATA_DIR": str(tmp_path)}).captcha_fixed_code == ""


def test_production_refuses_a_fixed_code(tmp_path):
    env = {
        "LKK_ENV": "production",
        "LKK_SECRET_KEY": "k" * 40,
        "LKK_PUBLIC_URL": "https://lkk.example.ru",
        "LKK_DATA_DIR": str(tmp_path),
        "LKK_SMTP_HOST": "smtp.example.ru",
        "LKK_CAPTCHA_FIXED_CODE": "123456",
    }
    with pytest.raises(SettingsError, match="LKK_CAPTCHA_FIXED_CODE"):
        load_settings(env)


@pytest.mark.parametrize("value", ["12345", "12345678", "abcdef", "12 3456", "١٢٣٤٥٦", "-12345"])
def test_invalid_fixed_codes_are_refused(tmp_path, value):
    with pytest.raises(SettingsError, match="LKK_CAPTCHA_FIXED_CODE"):
        load_settings({"LKK_DATA_DIR": str(tmp_path), "LKK_CAPTCHA_FIXED_CODE": value})


def test_service_ignores_a_fixed_code_in_production(db, fixed, monkeypatch):
    """Defence in depth: even a hand-built production Settings cannot fix the code."""
    monkeypatch.setattr(captcha, "_random_code", lambda: "999999")
    prod = dataclasses.replace(fixed, env="production")
    challenge_id, _ = captcha.new_challenge(db, settings=prod)
    assert captcha.verify(db, challenge_id, CODE, settings=prod) is False
    challenge_id, _ = captcha.new_challenge(db, settings=prod)
    assert captcha.verify(db, challenge_id, "999999", settings=prod) is True


# --------------------------------------------------------------------------- clean-up


def test_purge_expired(db, fixed, frozen_clock):
    old, _ = captcha.new_challenge(db, settings=fixed)
    frozen_clock.advance(minutes=30)
    recent, _ = captcha.new_challenge(db, settings=fixed)
    db.commit()
    # ``old`` expired at +5 min; purge deletes what expired more than 1 h ago.
    frozen_clock.advance(minutes=35)
    assert captcha.purge_expired(db) == 0
    frozen_clock.advance(seconds=1)
    assert captcha.purge_expired(db) == 1
    db.commit()
    remaining = [r.challenge_id for r in db.exec(select(CaptchaChallenge)).all()]
    assert remaining == [recent]
    assert captcha.purge_expired(db, older_than=timedelta(0)) == 1
