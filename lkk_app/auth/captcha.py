"""«Код авторизации»: a numeric captcha drawn on a server-made image
(SECURITY.md, "Tokens, codes, temporary passwords").

* :func:`new_challenge` picks a random 6–7 digit code, draws it as a PNG and
  stores ``HMAC-SHA256(secret_key, challenge_id ":" code)`` (and the sealed
  code below) with a 5-minute expiry.  The code itself is never stored in
  clear: the image is drawn at creation time and handed to the caller, which
  embeds it (for instance with :func:`png_data_url`) or serves it from memory.  The ``challenge_id`` is the
  only thing the browser needs to send back with the answer.
* :func:`verify` allows one guess per challenge: the challenge is consumed by a
  conditional ``UPDATE … WHERE used_at IS NULL`` whatever the answer, so two
  concurrent guesses cannot both pass.  Show a fresh challenge after every
  submit.
* :func:`purge_expired` deletes old rows (a periodic clean-up job).
* «Прослушать код» (``auth/captcha_audio.py``): the row also keeps the code
  *sealed* — XORed with ``HMAC-SHA256(secret_key, "captcha-seal:" challenge_id)``
  (:func:`seal`).  Without the key that is indistinguishable from random;
  with the key the keyed hash above gives the code away anyway (10⁷ codes
  are tried in seconds), so the seal adds nothing for anyone.  The audio
  is made only when asked for (:func:`code_to_speak`: an unexpired, unused
  challenge), from a seed of the same kind, so every fetch of one challenge
  gives the same recording.  :func:`verify` clears the seal with the guess.

Nothing here commits.  **The caller must commit the consumption of a challenge
even when the request then fails** (wrong password, invalid form): if the
transaction that called :func:`verify` is rolled back, the challenge becomes
guessable again.  Commit right after :func:`verify`, or verify in a session
of its own.

``LKK_CAPTCHA_FIXED_CODE`` (``Settings.captcha_fixed_code``) makes every code
that value, for browser tests; it is ignored in production (where the
settings refuse it anyway).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import unicodedata
from datetime import timedelta
from io import BytesIO

from sqlmodel import Session, col, select

from lkk_app.auth import captcha_image
from lkk_app.core import clock, tokens
from lkk_app.db import delete_rows, update_rows
from lkk_app.models import CaptchaChallenge
from lkk_app.settings import Settings, get_settings

TTL = timedelta(minutes=5)
CODE_LENGTHS = (6, 7)
MAX_ANSWER_LENGTH = 16
IMAGE_WIDTH = captcha_image.WIDTH
IMAGE_HEIGHT = captcha_image.HEIGHT
CHALLENGE_ID_BYTES = 24
CHALLENGE_ID_LENGTH = 32  # secrets.token_urlsafe(24)

_CODE_RE = re.compile(f"[0-9]{{{min(CODE_LENGTHS)},{max(CODE_LENGTHS)}}}")


def render_code(code: str) -> bytes:
    """Draw ``code`` as a PNG of :data:`IMAGE_WIDTH` × :data:`IMAGE_HEIGHT`
    (``auth/captcha_image.py``: made to defeat stock OCR)."""
    image = captcha_image.draw(code)
    out = BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def png_data_url(png: bytes) -> str:
    """``data:image/png;base64,…`` for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _random_code() -> str:
    length = secrets.choice(CODE_LENGTHS)
    return "".join(secrets.choice("0123456789") for _ in range(length))


def _answer_hash(challenge_id: str, code: str, settings: Settings) -> str:
    message = f"{challenge_id}:{code}".encode("utf-8", "surrogatepass")
    return hmac.new(settings.secret_key, message, hashlib.sha256).hexdigest()


def _code_for(settings: Settings) -> str:
    fixed = (getattr(settings, "captcha_fixed_code", "") or "").strip()
    if fixed and not settings.is_production and _CODE_RE.fullmatch(fixed):
        return fixed
    return _random_code()


def new_challenge(session: Session, *, settings: Settings | None = None) -> tuple[str, bytes]:
    """Create a challenge; return ``(challenge_id, png_bytes)``.

    The PNG shows the code; only its keyed hash is stored.  Valid for
    :data:`TTL`.  Flushes, does not commit.
    """
    settings = settings or get_settings()
    code = _code_for(settings)
    challenge_id = secrets.token_urlsafe(CHALLENGE_ID_BYTES)
    now = clock.utcnow()
    row = CaptchaChallenge(
        challenge_id=challenge_id,
        answer_hash=_answer_hash(challenge_id, code, settings),
        sealed_code=seal(challenge_id, code, settings),
        created_at=now,
        expires_at=now + TTL,
        used_at=None,
    )
    session.add(row)
    session.flush()
    png = render_code(code)
    return challenge_id, png


def _keystream(purpose: str, challenge_id: str, settings: Settings) -> bytes:
    message = f"{purpose}:{challenge_id}".encode("utf-8", "surrogatepass")
    return hmac.new(settings.secret_key, message, hashlib.sha256).digest()


def seal(challenge_id: str, code: str, settings: Settings) -> str:
    """``code`` XORed with a key stream of this challenge, as hex (at most 64 digits)."""
    stream = _keystream("captcha-seal", challenge_id, settings)
    return bytes(b ^ k for b, k in zip(code.encode("ascii"), stream, strict=False)).hex()


def unseal(challenge_id: str, sealed: str, settings: Settings) -> str | None:
    """The code :func:`seal` sealed, or None when ``sealed`` is not one."""
    try:
        raw = bytes.fromhex(sealed)
    except ValueError:
        return None
    stream = _keystream("captcha-seal", challenge_id, settings)
    code = bytes(b ^ k for b, k in zip(raw, stream, strict=False)).decode("ascii", "replace")
    return code if _CODE_RE.fullmatch(code) else None


def audio_seed(challenge_id: str, settings: Settings) -> bytes:
    """The seed of this challenge's recording (the same for every fetch)."""
    return _keystream("captcha-audio", challenge_id, settings)


def code_to_speak(session: Session, challenge_id: str | None, *,
                  settings: Settings | None = None) -> tuple[str, bytes] | None:
    """``(code, seed)`` of an unexpired, unused challenge that can be spoken, for
    ``captcha_audio.render``; None for an unknown, expired or spent one (or one
    made before codes were sealed).  Reads only: listening spends no guess."""
    if not tokens.well_formed(challenge_id, length=CHALLENGE_ID_LENGTH):
        return None
    settings = settings or get_settings()
    sealed = session.exec(
        select(CaptchaChallenge.sealed_code).where(
            CaptchaChallenge.challenge_id == challenge_id,
            col(CaptchaChallenge.used_at).is_(None),
            col(CaptchaChallenge.expires_at) > clock.utcnow(),
        )
    ).first()
    if not sealed:
        return None
    code = unseal(challenge_id, sealed, settings)
    return None if code is None else (code, audio_seed(challenge_id, settings))


def _normalise_answer(answer: object) -> str | None:
    if not isinstance(answer, str) or len(answer) > 4 * MAX_ANSWER_LENGTH:
        return None
    # Full-width digits and the like become ASCII; every blank goes.
    cleaned = "".join(unicodedata.normalize("NFKC", answer).split())
    if not cleaned or len(cleaned) > MAX_ANSWER_LENGTH:
        return None
    return cleaned


def verify(
    session: Session,
    challenge_id: str | None,
    answer: str | None,
    *,
    settings: Settings | None = None,
) -> bool:
    """Check ``answer`` for ``challenge_id``; consume the challenge in any case.

    False for an unknown, expired or already used challenge, a wrong, empty or
    over-long answer (more than :data:`MAX_ANSWER_LENGTH` characters once
    blanks are removed).  Exactly one caller can consume a challenge, even
    concurrently.  Flushes, does not commit — see the module docstring: the
    caller must commit the consumption even when the request fails.
    """
    if not tokens.well_formed(challenge_id, length=CHALLENGE_ID_LENGTH):
        return False
    settings = settings or get_settings()
    now = clock.utcnow()
    # Spent: no more guesses, and the sealed code for the recording goes too.
    spent = update_rows(session, CaptchaChallenge, {"used_at": now, "sealed_code": None},
                        col(CaptchaChallenge.challenge_id) == challenge_id,
                        col(CaptchaChallenge.used_at).is_(None), col(CaptchaChallenge.expires_at) > now)
    if spent != 1:
        return False
    cleaned = _normalise_answer(answer)
    if cleaned is None:
        return False
    expected = session.exec(
        select(CaptchaChallenge.answer_hash).where(
            CaptchaChallenge.challenge_id == challenge_id
        )
    ).one()
    return hmac.compare_digest(expected, _answer_hash(challenge_id, cleaned, settings))


def purge_expired(session: Session, older_than: timedelta = timedelta(hours=1)) -> int:
    """Delete challenges that expired more than ``older_than`` ago; return how many."""
    cutoff = clock.utcnow() - older_than
    return delete_rows(session, CaptchaChallenge, col(CaptchaChallenge.expires_at) < cutoff)
