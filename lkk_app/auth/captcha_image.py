"""Drawing of the «Код авторизации» image (``auth/captcha.py`` owns the codes).

Stock OCR — tesseract after grayscale, ×3 upscaling, a fixed threshold and a
median filter — read three images in four of the ``captcha`` library's
drawing.  This one is made against exactly that pipeline while a person still
reads every digit (``tests/integration/test_captcha_ocr.py`` measures both the
rate and, by eye, samples):

* the digits are **outlines** (a bold face's contour, about 3 px wide): easy
  for people, while the OCR models are trained on filled text;
* each digit has its own face (five DejaVu bold faces, shipped in
  ``lkk_app/fonts``), size, slant, rotation and height on the line, and
  neighbours overlap, so no blank column separates them;
* two wavy strokes, as dark as the digits but of another hue, run through the
  upper and the lower half of the whole text, with a few short arcs and specks:
  a person tells them apart by colour, a grayscale threshold cannot, so after
  it the line is one connected blob;
* the whole image is bent by a horizontal and a vertical wave.

The randomness comes from :mod:`secrets`: the drawing must not tell anything
about the next one.
"""

from __future__ import annotations

import math
import os
import secrets
import threading
from functools import lru_cache

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

WIDTH = 220
HEIGHT = 70

# Digits-only subsets of five DejaVu bold faces (lkk_app/fonts/LICENSE), so
# that the image is the same on every machine.
FONT_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fonts")
_FONT_FILES = (
    "DejaVuSans-Bold-digits.ttf",
    "DejaVuSansCondensed-Bold-digits.ttf",
    "DejaVuSerif-Bold-digits.ttf",
    "DejaVuSerifCondensed-Bold-digits.ttf",
    "DejaVuSansMono-Bold-digits.ttf",
)
_FONT_SIZES = (40, 44, 48)
OUTLINE = 2  # pixels outside the glyph's edge; one more inside
SHEAR = 0.12
ROTATION = 10.0  # degrees either way
OVERLAP = (0, 3)  # pixels between neighbours

# Dark hues, all far darker than the background: to a person the digits and
# the strokes differ by colour, to a grayscale threshold not at all.
_HUES = (
    (30, 45, 120),  # blue
    (25, 95, 40),  # green
    (110, 30, 30),  # red
    (90, 30, 100),  # purple
    (100, 70, 20),  # brown
    (20, 80, 95),  # teal
)


def _uniform(low: float, high: float) -> float:
    return low + (high - low) * secrets.randbits(32) / 2**32


def _int(low: int, high: int) -> int:
    """A random integer in ``[low, high]``."""
    return low + secrets.randbelow(high - low + 1)


def font_paths() -> list[str]:
    """The font files the digits are drawn with."""
    return [os.path.join(FONT_DIR, name) for name in _FONT_FILES]


@lru_cache(maxsize=1)
def _fonts() -> tuple[ImageFont.FreeTypeFont, ...]:
    return tuple(ImageFont.truetype(path, size) for path in font_paths() for size in _FONT_SIZES)


# FreeType font objects are not documented as thread-safe: one glyph at a time.
_font_lock = threading.Lock()


def _outline(digit: str) -> Image.Image:
    """The contour of ``digit`` in a random face and size, as an ``L`` mask."""
    with _font_lock:
        font = secrets.choice(_fonts())
        left, top, right, bottom = (int(v) for v in font.getbbox(digit, stroke_width=OUTLINE))
        pad = 4
        size = (right - left + 2 * pad, bottom - top + 2 * pad)
        origin = (pad - left, pad - top)
        outer = Image.new("L", size, 0)
        ImageDraw.Draw(outer).text(origin, digit, font=font, fill=255,
                                   stroke_width=OUTLINE, stroke_fill=255)
        filled = Image.new("L", size, 0)
        ImageDraw.Draw(filled).text(origin, digit, font=font, fill=255)
    return ImageChops.subtract(outer, filled.filter(ImageFilter.MinFilter(3)))


def _glyph(digit: str, colour: tuple[int, int, int]) -> Image.Image:
    """One outlined digit on a transparent layer, slanted and rotated."""
    layer = _outline(digit)
    shear = _uniform(-SHEAR, SHEAR)
    w, h = layer.size
    layer = layer.transform((w + int(abs(shear) * h), h), Image.Transform.AFFINE,
                            (1, shear, -shear * h if shear > 0 else 0, 0, 1, 0),
                            resample=Image.Resampling.BICUBIC)
    layer = layer.rotate(_uniform(-ROTATION, ROTATION), resample=Image.Resampling.BICUBIC,
                         expand=True)
    layer = layer.crop(layer.getbbox())
    glyph = Image.new("RGBA", layer.size, (*colour, 0))
    glyph.putalpha(layer)
    return glyph


def _wave(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """Bend ``image`` with a horizontal and a vertical sine wave."""
    ax, ay = _uniform(1.5, 2.5), _uniform(2.5, 4.0)
    px, py = _uniform(0, 2 * math.pi), _uniform(0, 2 * math.pi)
    lx, ly = _uniform(40, 70), _uniform(55, 90)
    step = 10

    def src(x: int, y: int) -> tuple[float, float]:
        return (x + ax * math.sin(2 * math.pi * y / lx + px),
                y + ay * math.sin(2 * math.pi * x / ly + py))

    mesh = []
    for x0 in range(0, image.width, step):
        for y0 in range(0, image.height, step):
            x1, y1 = min(x0 + step, image.width), min(y0 + step, image.height)
            mesh.append(((x0, y0, x1, y1),
                         (*src(x0, y0), *src(x0, y1), *src(x1, y1), *src(x1, y0))))
    return image.transform(image.size, Image.Transform.MESH, mesh,
                           resample=Image.Resampling.BICUBIC, fillcolor=background)


def _curve(x_from: int, x_to: int, y_mid: float, amplitude: float) -> list[tuple[float, float]]:
    """Points of a wavy line from ``x_from`` to ``x_to`` around the height ``y_mid``."""
    period = _uniform(60, 160)
    phase = _uniform(0, 2 * math.pi)
    slope = _uniform(-0.12, 0.12)
    return [(x, y_mid + slope * (x - x_from)
             + amplitude * math.sin(2 * math.pi * x / period + phase))
            for x in range(x_from, x_to + 1, 3)]


def _colours() -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """The digits' colour and another one for the strokes over them."""
    first = secrets.randbelow(len(_HUES))
    second = (first + 1 + secrets.randbelow(len(_HUES) - 1)) % len(_HUES)

    def vary(colour: tuple[int, int, int]) -> tuple[int, int, int]:
        red, green, blue = (max(0, min(255, c + _int(-12, 12))) for c in colour)
        return red, green, blue

    return vary(_HUES[first]), vary(_HUES[second])


def draw(code: str) -> Image.Image:
    """The image of ``code``: RGB, :data:`WIDTH` × :data:`HEIGHT`."""
    background = (_int(232, 250), _int(232, 250), _int(232, 250))
    ink, stroke = _colours()
    glyphs = [_glyph(digit, ink) for digit in code]
    overlaps = [_int(*OVERLAP) for _ in glyphs[1:]]
    line = Image.new("RGBA", (sum(g.width for g in glyphs) - sum(overlaps) + 8, HEIGHT),
                     (*ink, 0))
    x = 4
    for glyph, overlap in zip(glyphs, [*overlaps, 0], strict=True):
        y = (HEIGHT - glyph.height) // 2 + _int(-4, 4)
        line.alpha_composite(glyph, (x, max(0, min(HEIGHT - glyph.height, y))))
        x += glyph.width - overlap
    margin = 8
    if line.width > WIDTH - 2 * margin:  # seven wide digits: squeeze the line
        line = line.resize((WIDTH - 2 * margin, HEIGHT), Image.Resampling.LANCZOS)
    image = Image.new("RGB", (WIDTH, HEIGHT), background)
    left = (WIDTH - line.width) // 2
    right = left + line.width
    image.paste(line, (left, 0), line)

    pen = ImageDraw.Draw(image)
    # One stroke through the upper half of the digits, one through the lower.
    for width, (low, high) in ((3, (0.36, 0.48)), (2, (0.52, 0.64))):
        points = _curve(left - _int(0, 6), right + _int(0, 6),
                        _uniform(HEIGHT * low, HEIGHT * high), _uniform(3, 7))
        pen.line(points, fill=stroke, width=width, joint="curve")
    for _ in range(_int(2, 3)):
        cx, cy, r = _int(left, right), _int(10, HEIGHT - 10), _int(8, 16)
        start = _int(0, 359)
        pen.arc((cx - r, cy - r, cx + r, cy + r), start, start + _int(60, 160), fill=stroke,
                width=_int(2, 3))
    for _ in range(_int(25, 40)):
        cx, cy = _int(0, WIDTH - 1), _int(0, HEIGHT - 1)
        pen.ellipse((cx, cy, cx + _int(1, 2), cy + _int(1, 2)), fill=stroke)
    return _wave(image, background).filter(ImageFilter.SMOOTH)
