"""«Прослушать код»: ``GET /captcha/audio/<challenge_id>`` answers with the code
of an unexpired, unused challenge spoken (``auth/captcha_audio.py``), as a
WAV, ``Cache-Control: no-store``.  Listening spends no guess; the same
challenge always sounds the same.  An unknown, expired or spent challenge:
404; too many recordings for the client's IP: 429; the spoken-code pool full
or no speech synthesiser on the server: 503."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from lkk_app import cpu_pools
from lkk_app.auth import captcha_audio, captcha_limits
from lkk_app.db import session_scope
from lkk_app.web.http.base import client_ip, no_store

log = logging.getLogger("lkk.captcha")

WAV = "audio/wav"


def _speak(challenge_id: str, ip: str) -> bytes | str:
    """The spoken-code pool: the recording, or why there is none."""
    with session_scope() as db:
        spoken = captcha_limits.listen(db, challenge_id=challenge_id, ip=ip)
    if isinstance(spoken, str):
        return spoken
    code, seed = spoken
    try:
        return captcha_audio.render(code, seed).wav
    except captcha_audio.Unavailable as exc:
        log.error("no spoken authorization code: %s", exc)
        return "unavailable"


def _plain(text: str, status: int, **headers: str) -> Response:
    return no_store(PlainTextResponse(text, status_code=status, headers=headers))


async def captcha_audio_file(request: Request) -> Response:
    challenge_id = str(request.path_params.get("challenge_id", ""))[:64]
    try:
        result = await cpu_pools.CAPTCHA_AUDIO.run(_speak, challenge_id, client_ip(request))
    except cpu_pools.PoolBusy:
        return _plain("Busy", 503, **{"Retry-After": "2"})
    if result == "unknown":
        return _plain("Not found", 404)
    if result == "limited":
        return _plain("Too many requests", 429, **{"Retry-After": "600"})
    if isinstance(result, str):
        return _plain("Unavailable", 503)
    return no_store(Response(result, media_type=WAV))
