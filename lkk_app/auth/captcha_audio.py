"""«Прослушать код»: the authorization code spoken in Russian, for people who
cannot see the image (SECURITY.md, "Tokens, codes, temporary passwords").

Made on the server with no outside service: every digit is said by
``espeak-ng`` (Debian's package of that name; ``make setup`` installs it),
whose Russian voice reads a numeral as its name («ноль» … «девять»), each
digit with its own voice, pitch and
speed, then resampled by a random factor (pitch and pace change together),
given its own loudness and placed after a random pause.  Under the whole line
runs a murmur of other words played backwards (speech-like sound that says no
digit) and filtered noise, so that silence does not mark where the digits are
and stock templates do not match.

:func:`render` is deterministic for a given ``seed``: the caller derives the
seed from the challenge (``captcha.audio_seed``), so fetching the same
challenge again gives the same recording — listening twice reveals nothing a
single listen did not, and averaging several fetches removes no noise.

The result is a mono 8-bit PCM WAV at :data:`RATE` Hz (11 KB a second),
with where each digit was placed (:class:`Audio.digits`) for the tests.
"""

from __future__ import annotations

import array
import dataclasses
import io
import random
import shutil
import subprocess
import sys
import wave

ESPEAK = "espeak-ng"
RATE = 11025
SOURCE_RATE = 22050  # what espeak-ng writes
DIGITS = "0123456789"
# espeak-ng's voice variants: male and female.
VOICES = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5")
PITCH = (25, 70)  # espeak-ng -p, 0–99
SPEED = (125, 165)  # espeak-ng -s, words per minute
RESAMPLE = (0.9, 1.1)  # pitch and pace together
GAIN = (0.6, 1.0)  # each digit's loudness
LEAD = (0.4, 1.0)  # seconds before the first digit
PAUSE = (0.35, 1.0)  # seconds between digits
TAIL = (0.3, 0.7)
MURMUR_GAIN = (0.12, 0.22)  # backwards words under the line, against the loudest digit
NOISE = (0.03, 0.06)  # filtered noise, of full scale
SPEAK_TIMEOUT = 5.0  # seconds for one word
_SILENCE = 300  # samples quieter than this at a word's ends are cut


class Unavailable(RuntimeError):
    """``espeak-ng`` is missing or failed: no audio version of the code."""


@dataclasses.dataclass(frozen=True)
class Audio:
    wav: bytes
    duration: float  # seconds
    digits: tuple[tuple[float, float], ...]  # (start, end) in seconds, in the code's order


def available() -> bool:
    """Whether ``espeak-ng`` is on PATH."""
    return shutil.which(ESPEAK) is not None


def _pcm(wav: bytes) -> array.array:
    """The samples of espeak-ng's WAV (its header's sizes are placeholders when
    written to a pipe: take everything after the ``data`` chunk's header)."""
    at = wav.find(b"data", 12)
    if not wav.startswith(b"RIFF") or at < 0:
        raise Unavailable("espeak-ng wrote no WAV")
    body = wav[at + 8:]
    samples = array.array("h")
    samples.frombytes(body[:len(body) - len(body) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def _speak(word: str, voice: str, pitch: int, speed: int) -> list[float]:
    """``word`` (a digit) said by espeak-ng's Russian voice at :data:`SOURCE_RATE`, silence cut off, peak 1."""
    exe = shutil.which(ESPEAK)
    if exe is None:
        raise Unavailable("espeak-ng is not installed")
    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments, one digit
            [exe, "-v", f"ru+{voice}", "-p", str(pitch), "-s", str(speed), "--stdout", "--", word],
            capture_output=True, timeout=SPEAK_TIMEOUT, check=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:  # not installed right, or hung
        raise Unavailable(f"espeak-ng failed: {exc}") from exc
    samples = _pcm(done.stdout)
    loud = [i for i in range(len(samples)) if abs(samples[i]) >= _SILENCE]
    if not loud:
        raise Unavailable("espeak-ng said nothing")
    cut = samples[loud[0]:loud[-1] + 1]
    peak = max(abs(s) for s in cut)
    return [s / peak for s in cut]


def _resample(samples: list[float], factor: float) -> list[float]:
    """From :data:`SOURCE_RATE` to :data:`RATE`, ``factor`` times faster and higher
    (linear interpolation after a [1 2 1] smoothing against aliasing)."""
    n = len(samples)
    smooth = [samples[0]] + [(samples[i - 1] + 2 * samples[i] + samples[i + 1]) / 4
                             for i in range(1, n - 1)] + [samples[-1]]
    step = SOURCE_RATE / RATE * factor
    out = []
    pos = 0.0
    while pos < n - 1:
        j = int(pos)
        frac = pos - j
        out.append(smooth[j] + (smooth[j + 1] - smooth[j]) * frac)
        pos += step
    return out


def _voice(word: str, rng: random.Random) -> list[float]:
    return _resample(_speak(word, rng.choice(VOICES), rng.randint(*PITCH), rng.randint(*SPEED)),
                     rng.uniform(*RESAMPLE))


def render(code: str, seed: bytes | int | str) -> Audio:
    """``code`` (digits) spoken; the same ``seed`` gives the same recording.
    Raises :class:`Unavailable` without espeak-ng."""
    if not code or not code.isascii() or not code.isdigit():
        raise ValueError("a code of digits")
    rng = random.Random(seed)  # noqa: S311 - variety, not secrecy: the seed is the secret
    words = [(_voice(d, rng), rng.uniform(*GAIN)) for d in code]
    cursor = int(rng.uniform(*LEAD) * RATE)
    placed: list[tuple[int, list[float], float]] = []
    for samples, gain in words:
        placed.append((cursor, samples, gain))
        cursor += len(samples) + int(rng.uniform(*PAUSE) * RATE)
    length = placed[-1][0] + len(placed[-1][1]) + int(rng.uniform(*TAIL) * RATE)
    line = [0.0] * length
    for start, samples, gain in placed:
        for i, s in enumerate(samples):
            line[start + i] += gain * s
    # The murmur: words played backwards, anywhere on the line.
    for _ in range(len(code) + rng.randint(1, 3)):
        back = _voice(rng.choice(DIGITS), rng)[::-1]
        gain = rng.uniform(*MURMUR_GAIN)
        start = rng.randrange(0, max(1, length - len(back)))
        for i, s in enumerate(back[:length - start]):
            line[start + i] += gain * s
    # Filtered noise (a one-pole low-pass of Gaussian noise: more hiss or more rumble).
    level = rng.uniform(*NOISE)
    pole = rng.uniform(0.2, 0.7)
    gauss = rng.gauss
    state = 0.0
    for i in range(length):
        state = pole * state + (1 - pole) * gauss(0.0, 1.0)
        line[i] += level * 2.0 * state
    peak = max(abs(s) for s in line) or 1.0
    scale = 0.9 * 127 / peak
    pcm = bytes(max(1, min(255, 128 + round(s * scale))) for s in line)
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)  # unsigned 8-bit: half the bytes, still far below the noise
        wav.setframerate(RATE)
        wav.writeframes(pcm)
    digits = tuple((start / RATE, (start + len(samples)) / RATE) for start, samples, _ in placed)
    return Audio(wav=out.getvalue(), duration=length / RATE, digits=digits)
