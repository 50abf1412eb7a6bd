"""``GET /captcha/audio/<challenge_id>`` over HTTP (Starlette's TestClient on
``build_http_app()``): the code of an open challenge spoken, ``no-store``, the
same recording at every fetch; 404 for an unknown, malformed, expired or
spent challenge; listening spends no guess; a limit per client IP."""

from __future__ import annotations

import warnings
from datetime import timedelta

import pytest
from sqlmodel import select

from lkk_app import db as db_module
from lkk_app import routes
from lkk_app.auth import captcha, captcha_audio, ratelimit
from lkk_app.models import CaptchaChallenge
from lkk_app.settings import get_settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

CODE = "4820617"
pytestmark = pytest.mark.app_settings(LKK_CAPTCHA_FIXED_CODE=CODE)


def client(ip: str = "192.0.2.20") -> TestClient:
    from lkk_app.web.http import build_http_app

    return TestClient(build_http_app(), client=(ip, 50000), follow_redirects=False)


def challenge() -> str:
    with db_module.session_scope() as s:
        challenge_id, _png = captcha.new_challenge(s)
    return challenge_id


def listen(challenge_id: str, ip: str = "192.0.2.20"):
    return client(ip).get(routes.captcha_audio(challenge_id))


@pytest.fixture
def spoken(monkeypatch):
    """Every code the route had spoken (the real recordings are made all the same)."""
    codes: list[str] = []
    real = captcha_audio.render

    def render(code, seed):
        codes.append(code)
        return real(code, seed)

    monkeypatch.setattr(captcha_audio, "render", render)
    return codes


def test_an_open_challenge_is_its_own_code_spoken(app_db, spoken):
    challenge_id = challenge()
    r = listen(challenge_id)
    assert r.status_code == 200
    assert r.headers["content-type"] == "audio/wav"
    assert r.headers["cache-control"] == "no-store"
    assert r.content.startswith(b"RIFF") and r.content[8:12] == b"WAVE"
    assert spoken == [CODE]  # the code of the image, of this challenge
    # Fetched again (a replay): the very same recording, nothing new to average.
    again = listen(challenge_id)
    assert again.status_code == 200 and again.content == r.content


def test_two_challenges_of_one_code_sound_different(app_db):
    first, second = challenge(), challenge()
    assert listen(first).content != listen(second).content


def test_listening_spends_no_guess_and_a_spent_challenge_is_silent(app_db):
    challenge_id = challenge()
    assert listen(challenge_id).status_code == 200
    with db_module.session_scope() as s:
        assert captcha.verify(s, challenge_id, CODE) is True
    r = listen(challenge_id)
    assert r.status_code == 404 and r.headers["cache-control"] == "no-store"
    with db_module.session_scope() as s:  # nothing left to speak it from
        row = s.exec(select(CaptchaChallenge).where(CaptchaChallenge.challenge_id == challenge_id)).one()
        assert row.used_at is not None and row.sealed_code is None
    # Still one guess per challenge: a wrong answer after listening spends it too.
    other = challenge()
    assert listen(other).status_code == 200
    with db_module.session_scope() as s:
        assert captcha.verify(s, other, "0000000") is False
    with db_module.session_scope() as s:
        assert captcha.verify(s, other, CODE) is False
    assert listen(other).status_code == 404


def test_an_expired_challenge_is_silent(app_db, frozen_clock):
    challenge_id = challenge()
    frozen_clock.now += captcha.TTL - timedelta(seconds=1)
    assert listen(challenge_id).status_code == 200
    frozen_clock.now += timedelta(seconds=2)
    assert listen(challenge_id).status_code == 404


@pytest.mark.parametrize("challenge_id", ["A" * 32, "short", "x" * 64, "%00" * 11, "-" * 32 + "?"])
def test_unknown_and_malformed_challenges_are_not_found(app_db, spoken, challenge_id):
    r = client().get(routes.CAPTCHA_PREFIX + "audio/" + challenge_id)
    assert r.status_code == 404
    assert r.headers["cache-control"] == "no-store"
    assert spoken == []


def test_a_challenge_made_before_codes_were_sealed_is_silent(app_db):
    challenge_id = challenge()
    with db_module.session_scope() as s:
        row = s.exec(select(CaptchaChallenge).where(CaptchaChallenge.challenge_id == challenge_id)).one()
        row.sealed_code = None
        s.add(row)
    assert listen(challenge_id).status_code == 404


def test_the_seal_opens_only_with_its_challenge_and_key(make_settings):
    settings = make_settings()
    sealed = captcha.seal("c" * 32, CODE, settings)
    assert CODE not in sealed and len(sealed) == 2 * len(CODE)
    assert captcha.unseal("c" * 32, sealed, settings) == CODE
    assert captcha.unseal("d" * 32, sealed, settings) != CODE
    other_key = make_settings(secret_key=b"another key of thirty-two bytes!!")
    assert captcha.unseal("c" * 32, sealed, other_key) != CODE
    assert captcha.unseal("c" * 32, "not hex", settings) is None


def test_recordings_are_limited_per_client_ip(app_db, monkeypatch):
    monkeypatch.setattr(captcha_audio, "render",
                        lambda code, seed: captcha_audio.Audio(b"RIFF....WAVE", 0.0, ()))
    challenge_id = challenge()
    allowed = ratelimit.CAPTCHA_AUDIO_PER_IP.limit
    assert [listen(challenge_id).status_code for _ in range(allowed)] == [200] * allowed
    over = listen(challenge_id)
    assert over.status_code == 429 and over.headers["cache-control"] == "no-store"
    # Another address is not held back; unknown challenges count for nobody.
    assert listen(challenge_id, ip="192.0.2.99").status_code == 200
    assert listen("B" * 32, ip="192.0.2.98").status_code == 404


def test_without_espeak_ng_the_route_says_unavailable(app_db, monkeypatch):
    monkeypatch.setattr(captcha_audio.shutil, "which", lambda name: None)
    r = listen(challenge())
    assert r.status_code == 503 and r.headers["cache-control"] == "no-store"


def test_the_settings_key_is_what_seals(app_db):
    # The row holds neither the code nor anything that opens without the key.
    challenge_id = challenge()
    with db_module.session_scope() as s:
        row = s.exec(select(CaptchaChallenge).where(CaptchaChallenge.challenge_id == challenge_id)).one()
    assert row.sealed_code and CODE not in row.sealed_code
    assert captcha.unseal(challenge_id, row.sealed_code, get_settings()) == CODE


def test_a_full_spoken_code_pool_answers_at_once_with_busy(app_db, monkeypatch):
    from lkk_app import cpu_pools

    def busy(*args):
        raise cpu_pools.PoolBusy("captcha-audio")

    monkeypatch.setattr(cpu_pools.CAPTCHA_AUDIO, "submit", busy)
    r = listen(challenge())
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    assert r.headers["cache-control"] == "no-store"

