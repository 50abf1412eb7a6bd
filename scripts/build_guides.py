#!/usr/bin/env python3
"""Build the two user guides (PDF) from their Markdown sources.

Sources (``docs/guides/``)              Output (``assets/guides/``)
  registration.md                  ->     registration-guide.pdf
  user-guide.md                    ->     user-guide.pdf
  img/*.png (referenced images)

Usage::

    python scripts/build_guides.py            # rebuild both PDFs and the stamp
    python scripts/build_guides.py --check    # exit 1 if a PDF is out of date
    python scripts/build_guides.py --root DIR # work on another checkout (tests)

The build needs fpdf2 and a TrueType font with Cyrillic letters: the path in
``LKK_GUIDE_FONT`` (bold face: ``LKK_GUIDE_FONT_BOLD``, or the file next to it
named ``<stem>-Bold.ttf``), else DejaVu Sans from the Debian package
``fonts-dejavu-core``.  The output is deterministic: the same sources, font and
fpdf2 version give byte-identical PDFs.

``--check`` needs neither fpdf2 nor the font.  The build writes
``assets/guides/SOURCES.sha256`` with the SHA-256 of every source of each guide
(its Markdown file, the images it references and this script) and of the PDF
it produced; ``--check`` recomputes them and names whatever changed.

Markdown subset understood (anything else is an error or plain text):

* ``# Title`` – the guide title (once, first line); ``## 1 Section`` and
  ``### 1.1 Subsection`` – headings, also listed in the PDF outline;
* paragraphs (consecutive lines are joined), ``**bold**`` inside any text;
* ``- item`` bullets and ``1. item`` numbered items; an indented item is
  nested one level, other indented lines continue the item above;
* ``![Подпись](img/name.png)`` on a line of its own – a PNG/JPEG image scaled
  to the page width (a tall one: to 60 % of the page height) with the caption
  «Рисунок N – Подпись» under it, numbered per guide; a missing file is an
  error;
* ``[TOC]`` on a line of its own – the table of contents («Содержание»).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import hashlib
import os
import re
import sys
from pathlib import Path

DEFAULT_ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = Path("docs/guides")
OUTPUT_DIR = Path("assets/guides")
STAMP_NAME = "SOURCES.sha256"

DEFAULT_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_ENV = "LKK_GUIDE_FONT"
BOLD_FONT_ENV = "LKK_GUIDE_FONT_BOLD"

CABINET_NAME = "Личный кабинет клиента – юридического лица"
# Fixed so that rebuilding unchanged sources gives byte-identical PDFs.
CREATION_DATE = _dt.datetime(2025, 1, 1, 0, 0, 0, tzinfo=_dt.timezone.utc)


@dataclasses.dataclass(frozen=True)
class Guide:
    source: str  # file name in docs/guides/
    output: str  # file name in assets/guides/
    running_title: str  # short title in the page header


GUIDES = (
    Guide("registration.md", "registration-guide.pdf", "Краткая инструкция по регистрации"),
    Guide("user-guide.md", "user-guide.pdf", "Руководство пользователя"),
)


class GuideError(Exception):
    """A source problem; the message says which file and what to do."""


# --------------------------------------------------------------------------
# Markdown subset
# --------------------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$")
_BULLET = re.compile(r"^[-*]\s+(.*)$")
_NUMBERED = re.compile(r"^(\d{1,3})[.)]\s+(.*)$")
_IMAGE = re.compile(r"^!\[([^\]]*)\]\(([^)\s]+)\)\s*$")


@dataclasses.dataclass
class Block:
    kind: str  # title | heading | para | bullet | number | image | toc
    text: str = ""
    level: int = 0  # heading level (2 or 3); list nesting (0 or 1)
    label: str = ""  # number of a numbered item
    path: str = ""  # image path as written in the source


def parse_markdown(text: str, where: str) -> list[Block]:
    """Split ``text`` into blocks; ``where`` names the file in error messages."""
    blocks: list[Block] = []
    para: list[str] = []
    item: Block | None = None

    def flush() -> None:
        nonlocal item
        if para:
            blocks.append(Block("para", " ".join(para)))
            para.clear()
        if item is not None:
            blocks.append(item)
            item = None

    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            flush()
            continue
        if stripped.startswith("<!--") and stripped.endswith("-->"):
            continue  # comment line for the authors, not rendered
        indented = line[:1] in (" ", "\t")
        nested = _BULLET.match(stripped) or _NUMBERED.match(stripped)
        if indented and item is not None and not nested:
            item.text += " " + stripped  # continuation of a list item
            continue
        m = _HEADING.match(stripped)
        if m:
            flush()
            level = len(m.group(1))
            if level == 1:
                if blocks:
                    raise GuideError(f"{where}:{lineno}: '# title' must be the first line")
                blocks.append(Block("title", m.group(2)))
            else:
                blocks.append(Block("heading", m.group(2), level=level))
            continue
        m = _IMAGE.match(stripped)
        if m:
            flush()
            blocks.append(Block("image", m.group(1).strip(), path=m.group(2)))
            continue
        if stripped.startswith("!["):
            raise GuideError(f"{where}:{lineno}: write an image as ![Подпись](img/name.png) on its own line")
        if stripped == "[TOC]":
            flush()
            blocks.append(Block("toc"))
            continue
        m = _BULLET.match(stripped)
        if m:
            flush()
            item = Block("bullet", m.group(1), level=int(indented))
            continue
        m = _NUMBERED.match(stripped)
        if m:
            flush()
            item = Block("number", m.group(2), level=int(indented), label=m.group(1) + ".")
            continue
        if item is not None:
            flush()  # an unindented line after a list item starts a paragraph
        para.append(stripped)
    flush()

    if not blocks or blocks[0].kind != "title":
        raise GuideError(f"{where}: the first line must be the guide title ('# ...')")
    for block in blocks:
        if block.text.count("**") % 2:
            raise GuideError(f"{where}: unbalanced '**' in: {block.text[:60]}…")
    return blocks


def image_paths(blocks: list[Block], source_dir: Path, where: str) -> list[Path]:
    """The image files the guide references, checked to exist, in order."""
    found: list[Path] = []
    for block in blocks:
        if block.kind != "image":
            continue
        rel = Path(block.path)
        if rel.is_absolute() or ".." in rel.parts:
            raise GuideError(f"{where}: image path must be relative to docs/guides/: {block.path}")
        if rel.suffix.lower() not in (".png", ".jpg", ".jpeg"):
            raise GuideError(f"{where}: only PNG or JPEG images are supported: {block.path}")
        if not block.text:
            raise GuideError(f"{where}: image {block.path} needs a caption: ![Подпись]({block.path})")
        path = source_dir / rel
        if not path.is_file():
            raise GuideError(
                f"{where}: image {block.path} not found (expected {path}); "
                "add the file or remove the reference"
            )
        if path not in found:
            found.append(path)
    return found


# --------------------------------------------------------------------------
# Sources and the stamp (no fpdf2, no font needed)
# --------------------------------------------------------------------------


def _file_digest(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix in (".md", ".py"):
        data = data.replace(b"\r\n", b"\n")  # a CRLF checkout is the same source
    return hashlib.sha256(data).hexdigest()


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name  # the script when run with --root on another tree


def guide_sources(root: Path, guide: Guide) -> tuple[list[Block], list[tuple[str, str]]]:
    """Parse the guide and return its blocks and its (relative path, sha256) list."""
    source_dir = root / SOURCE_DIR
    md = source_dir / guide.source
    where = (SOURCE_DIR / guide.source).as_posix()
    if not md.is_file():
        raise GuideError(f"{where}: source file not found under {root}")
    blocks = parse_markdown(md.read_text(encoding="utf-8"), where)
    files = [md, *image_paths(blocks, source_dir, where)]
    digests = [(_rel(p, root), _file_digest(p)) for p in files]
    digests.append(("scripts/build_guides.py", _file_digest(Path(__file__))))
    return blocks, digests


def combined_digest(digests: list[tuple[str, str]]) -> str:
    h = hashlib.sha256()
    for rel, digest in digests:
        h.update(f"{digest}  {rel}\n".encode())
    return h.hexdigest()


def format_stamp(entries: dict[str, tuple[list[tuple[str, str]], str]]) -> str:
    lines = [
        "# SHA-256 of the sources of each guide and of the PDF built from them.",
        "# Written by scripts/build_guides.py - do not edit by hand.",
        "# Verify with: python scripts/build_guides.py --check",
    ]
    for output, (digests, pdf_digest) in entries.items():
        lines.append("")
        lines.append(f"[{output}]")
        lines.append(f"sources {combined_digest(digests)}")
        lines.extend(f"file {digest} {rel}" for rel, digest in digests)
        lines.append(f"pdf {pdf_digest}")
    return "\n".join(lines) + "\n"


def parse_stamp(text: str) -> dict[str, dict]:
    entries: dict[str, dict] = {}
    current: dict | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = entries.setdefault(line[1:-1], {"files": {}})
            continue
        if current is None:
            raise ValueError(f"line outside a [guide] section: {line}")
        key, _, rest = line.partition(" ")
        if key == "file":
            digest, _, rel = rest.partition(" ")
            current["files"][rel] = digest
        elif key in ("sources", "pdf"):
            current[key] = rest
        else:
            raise ValueError(f"unknown line: {line}")
    return entries


def check(root: Path) -> int:
    out_dir = root / OUTPUT_DIR
    stamp_path = out_dir / STAMP_NAME
    rebuild = "Rebuild with: python scripts/build_guides.py (and commit the PDFs and the stamp)"
    if not stamp_path.is_file():
        print(f"guides: {OUTPUT_DIR / STAMP_NAME} is missing. {rebuild}", file=sys.stderr)
        return 1
    try:
        stamp = parse_stamp(stamp_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        print(f"guides: {OUTPUT_DIR / STAMP_NAME} is malformed ({exc}). {rebuild}", file=sys.stderr)
        return 1

    problems: list[str] = []
    for guide in GUIDES:
        try:
            _, digests = guide_sources(root, guide)
        except GuideError as exc:
            problems.append(str(exc))
            continue
        entry = stamp.get(guide.output)
        if entry is None:
            problems.append(f"{guide.output}: not in {STAMP_NAME}")
            continue
        if entry.get("sources") != combined_digest(digests):
            now = dict(digests)
            then = entry["files"]
            changed = [rel for rel in now if rel in then and now[rel] != then[rel]]
            added = [rel for rel in now if rel not in then]
            removed = [rel for rel in then if rel not in now]
            detail = "; ".join(
                part
                for part in (
                    "changed: " + ", ".join(changed) if changed else "",
                    "new: " + ", ".join(added) if added else "",
                    "no longer used: " + ", ".join(removed) if removed else "",
                )
                if part
            ) or "sources differ"
            problems.append(f"{guide.output} is out of date ({detail})")
            continue
        pdf = out_dir / guide.output
        if not pdf.is_file():
            problems.append(f"{OUTPUT_DIR / guide.output} is missing")
        elif _file_digest(pdf) != entry.get("pdf"):
            problems.append(f"{OUTPUT_DIR / guide.output} does not match the stamp (edited or not rebuilt)")

    if problems:
        print("guides: the PDF guides do not match their sources:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        print(rebuild, file=sys.stderr)
        return 1
    print(f"guides: {len(GUIDES)} PDFs are up to date with their sources")
    return 0


# --------------------------------------------------------------------------
# PDF rendering (fpdf2)
# --------------------------------------------------------------------------


def find_fonts() -> tuple[Path, Path]:
    regular = Path(os.environ.get(FONT_ENV, "").strip() or DEFAULT_FONT)
    if not regular.is_file():
        raise GuideError(
            f"font {regular} not found: set {FONT_ENV} to a TrueType font with Cyrillic letters "
            "or install the Debian package fonts-dejavu-core"
        )
    bold_env = os.environ.get(BOLD_FONT_ENV, "").strip()
    if bold_env:
        bold = Path(bold_env)
        if not bold.is_file():
            raise GuideError(f"bold font {bold} ({BOLD_FONT_ENV}) not found")
    else:
        bold = regular.with_name(f"{regular.stem}-Bold{regular.suffix}")
        if not bold.is_file():
            bold = regular  # no bold face: bold text is set in the regular one
    return regular, bold


# Colours and sizes
_TEXT = (33, 33, 33)
_MUTED = (110, 110, 110)
_ACCENT = (0, 84, 147)
_BODY_PT = 11
_LINE = 5.6  # mm per body line


def _make_pdf_class():
    from fpdf import FPDF

    class GuidePDF(FPDF):
        running_title = ""

        def header(self) -> None:
            self.set_font("Guide", "", 8)
            self.set_text_color(*_MUTED)
            self.set_y(9)
            self.cell(self.epw / 2, 4, CABINET_NAME)
            self.cell(self.epw / 2, 4, self.running_title, align="R")
            self.set_draw_color(*_ACCENT)
            self.set_line_width(0.3)
            self.line(self.l_margin, 14.5, self.w - self.r_margin, 14.5)
            self.set_y(self.t_margin)
            self.set_text_color(*_TEXT)

        def footer(self) -> None:
            self.set_y(-13)
            self.set_font("Guide", "", 8)
            self.set_text_color(*_MUTED)
            self.cell(0, 4, f"Страница {self.page_no()} из {{nb}}", align="C")

    return GuidePDF


_NBSP = "\u00a0"
_GLUE_RULES = (
    # Russian typography: no line break after a one-letter word or an
    # abbreviation, before a dash, between a number and the word after it,
    # inside a phone number template.
    (re.compile(r"(?<![\w.])((?i:[вксуояаи]|п\.|пп\.|рис\.|см\.|разд\.|№)) "), r"\1" + _NBSP),
    (re.compile(r" (?=[–—])"), _NBSP),
    (re.compile(r"(?<=\d) (?=[^\W\d])"), _NBSP),
    (re.compile(r"(\+7)[ \u00a0](\S+) (\S+)"), r"\1" + _NBSP + r"\2" + _NBSP + r"\3"),
)


def _glue(text: str) -> str:
    """Mark the spaces where a line must not break with U+00A0 (set as a space)."""
    for pattern, repl in _GLUE_RULES:
        text = pattern.sub(repl, text)
    return text


class Renderer:
    def __init__(self, guide: Guide, source_dir: Path, fonts: tuple[Path, Path], toc_pages: int = 1) -> None:
        pdf = _make_pdf_class()(orientation="P", unit="mm", format="A4")
        pdf.running_title = guide.running_title
        pdf.add_font("Guide", "", str(fonts[0]))
        pdf.add_font("Guide", "B", str(fonts[1]))
        pdf.set_margins(20, 20, 18)
        pdf.set_auto_page_break(True, margin=18)
        pdf.alias_nb_pages()
        pdf.set_creation_date(CREATION_DATE)
        pdf.set_lang("ru")
        pdf.set_creator("scripts/build_guides.py")
        pdf.set_author(CABINET_NAME)
        pdf.set_subject(CABINET_NAME)
        self.pdf = pdf
        self.source_dir = source_dir
        self.figure = 0
        self.toc_pages = toc_pages

    # -- text ---------------------------------------------------------------

    def rich(self, text: str, x: float, size: float = _BODY_PT, height: float = _LINE) -> None:
        """Set ``text`` (with **bold** runs) left-aligned from ``x`` to the right margin.

        Lines are broken here, between words only, so that a bold run never
        gets split inside a word (fpdf2's ``write()`` may do that at a run
        boundary); a word wider than the whole line is cut by characters.
        """
        pdf = self.pdf
        width = pdf.w - pdf.r_margin - x
        text = _glue(text)
        words: list[list[tuple[str, bool]]] = [[]]  # a word is a list of (piece, bold)
        for i, run in enumerate(text.split("**")):
            for token in re.findall(r" +|[^ ]+", run):
                if token.isspace():
                    if words[-1]:
                        words.append([])
                else:
                    words[-1].append((token, bool(i % 2)))
        words = [w for w in words if w]

        def piece_width(piece: str, bold: bool) -> float:
            pdf.set_font("Guide", "B" if bold else "", size)
            return pdf.get_string_width(piece)

        def word_width(word: list[tuple[str, bool]]) -> float:
            return sum(piece_width(p, b) for p, b in word)

        def split_long(word: list[tuple[str, bool]]) -> list[list[tuple[str, bool]]]:
            chunks: list[list[tuple[str, bool]]] = [[]]
            used = 0.0
            for piece, bold in word:
                for ch in piece:
                    w = piece_width(ch, bold)
                    if used + w > width and chunks[-1]:
                        chunks.append([])
                        used = 0.0
                    chunks[-1].append((ch, bold))
                    used += w
            return chunks

        space = max(piece_width(" ", False), piece_width(" ", True))
        lines: list[list[list[tuple[str, bool]]]] = [[]]
        used = 0.0
        for word in words:
            ww = word_width(word)
            if ww > width:
                for chunk in split_long(word):
                    lines.append([chunk])
                lines.append([])
                used = 0.0
                continue
            need = ww + (space if lines[-1] else 0.0)
            if lines[-1] and used + need > width:
                lines.append([])
                need = ww
                used = 0.0
            lines[-1].append(word)
            used += need
        lines = [line for line in lines if line]

        for line in lines:
            if pdf.get_y() + height > pdf.page_break_trigger:
                pdf.add_page()
            # merge the line into runs of one style; spaces are real text
            runs: list[list] = []
            for n, word in enumerate(line):
                pieces = list(word)
                if n:
                    pieces.insert(0, (" ", pieces[0][1] if runs and runs[-1][1] == pieces[0][1] else False))
                for piece, bold in pieces:
                    if runs and runs[-1][1] == bold:
                        runs[-1][0] += piece
                    else:
                        runs.append([piece, bold])
            pdf.set_x(x)
            for piece, bold in runs:
                pdf.set_font("Guide", "B" if bold else "", size)
                piece = piece.replace(_NBSP, " ")
                pdf.cell(pdf.get_string_width(piece), height, piece)
            pdf.ln(height)
        pdf.set_font("Guide", "", size)

    def keep_space(self, mm: float) -> None:
        if self.pdf.get_y() + mm > self.pdf.page_break_trigger:
            self.pdf.add_page()

    def title(self, text: str) -> None:
        pdf = self.pdf
        pdf.set_title(text)
        pdf.set_y(32)
        pdf.set_font("Guide", "", 13)
        pdf.set_text_color(*_ACCENT)
        pdf.multi_cell(0, 7, CABINET_NAME, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        pdf.set_font("Guide", "B", 20)
        pdf.set_text_color(*_TEXT)
        pdf.multi_cell(0, 10, text, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(8)

    def heading(self, text: str, level: int) -> None:
        pdf = self.pdf
        size, before, after = (14, 6, 3) if level == 2 else (12, 4, 2)
        pdf.ln(before)
        self.keep_space(size * 0.5 + 3 * _LINE)  # keep a heading with the text under it
        pdf.start_section(text, level=level - 2, strict=False)
        pdf.set_font("Guide", "B", size)
        pdf.set_text_color(*(_ACCENT if level == 2 else _TEXT))
        pdf.multi_cell(0, size * 0.5, text, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*_TEXT)
        pdf.ln(after)

    def paragraph(self, text: str) -> None:
        self.rich(text, self.pdf.l_margin)
        self.pdf.ln(2)

    def list_item(self, marker: str, text: str, level: int) -> None:
        pdf = self.pdf
        margin = pdf.l_margin + 8 * level
        indent = 8
        self.keep_space(_LINE)
        pdf.set_font("Guide", "", _BODY_PT)
        pdf.set_x(margin + 2)
        pdf.cell(indent - 2, _LINE, marker)
        pdf.set_x(margin)  # the marker cell moved x; rich() sets it per line
        self.rich(text, margin + indent)
        pdf.ln(1)

    # -- images and contents -------------------------------------------------

    def image(self, caption: str, rel: str) -> None:
        from PIL import Image

        pdf = self.pdf
        path = self.source_dir / rel
        with Image.open(path) as img:
            px_w, px_h = img.size
        caption_h = 12
        # page width; a tall picture is scaled down to at most 60 % of the
        # usable page height (centred) so that it does not fill a page alone
        max_h = 0.6 * (pdf.page_break_trigger - pdf.t_margin)
        w = pdf.epw
        h = w * px_h / px_w
        if h > max_h:
            h = max_h
            w = h * px_w / px_h
        self.keep_space(h + caption_h + 2)
        self.figure += 1
        label = f"Рисунок {self.figure} – {caption}"
        pdf.ln(1)
        x = pdf.l_margin + (pdf.epw - w) / 2
        pdf.image(str(path), x=x, y=pdf.get_y(), w=w, h=h, alt_text=label)
        pdf.set_draw_color(200, 200, 200)
        pdf.set_line_width(0.2)
        pdf.rect(x, pdf.get_y(), w, h)
        pdf.set_y(pdf.get_y() + h + 2)
        pdf.set_font("Guide", "", 10)
        pdf.set_text_color(*_MUTED)
        pdf.multi_cell(0, 5, label, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*_TEXT)
        pdf.ln(3)

    def toc(self) -> None:
        def render(pdf, outline) -> None:
            pdf.set_x(pdf.l_margin)
            pdf.set_font("Guide", "B", 14)
            pdf.set_text_color(*_ACCENT)
            pdf.cell(0, 8, "Содержание", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
            number_w = 10
            right = pdf.l_margin + pdf.epw - number_w  # where page numbers start
            for section in outline:
                level = section.level
                pdf.set_font("Guide", "B" if level == 0 else "", _BODY_PT)
                pdf.set_text_color(*_TEXT)
                x = pdf.l_margin + 6 * level
                link = pdf.add_link(page=section.page_number)
                # a long title wraps; dots and the page number follow its last line
                words, name = section.name.split(), ""
                while words:
                    trial = f"{name} {words[0]}".strip()
                    if name and pdf.get_string_width(trial) > right - x - 12:
                        pdf.set_x(x)
                        pdf.cell(right - x, 7, name, link=link, new_x="LMARGIN", new_y="NEXT")
                        x, name = x + 4, ""
                        continue
                    name = trial
                    words.pop(0)
                name_w = pdf.get_string_width(name + " ")
                pdf.set_x(x)
                pdf.cell(name_w, 7, name + " ", link=link)
                pdf.set_text_color(*_MUTED)
                dots_w = right - x - name_w - 1
                dots = "." * max(0, int(dots_w / pdf.get_string_width(".")))
                pdf.cell(dots_w, 7, dots, align="R", link=link)
                pdf.set_text_color(*_TEXT)
                pdf.set_x(right)
                pdf.cell(number_w, 7, str(section.page_number), align="R", link=link,
                         new_x="LMARGIN", new_y="NEXT")

        self.pdf.insert_toc_placeholder(render, pages=self.toc_pages)

    # -- the document ---------------------------------------------------------

    def render(self, blocks: list[Block]) -> bytes:
        self.pdf.add_page()
        previous = ""
        for block in blocks:
            if previous in ("bullet", "number") and block.kind not in ("bullet", "number"):
                self.pdf.ln(2)  # space after a list
            previous = block.kind
            if block.kind == "title":
                self.title(block.text)
            elif block.kind == "heading":
                self.heading(block.text, block.level)
            elif block.kind == "para":
                self.paragraph(block.text)
            elif block.kind == "bullet":
                self.list_item("•" if block.level == 0 else "–", block.text, block.level)
            elif block.kind == "number":
                self.list_item(block.label, block.text, block.level)
            elif block.kind == "image":
                self.image(block.text, block.path)
            elif block.kind == "toc":
                self.toc()
        return bytes(self.pdf.output())


def render_guide(guide: Guide, source_dir: Path, fonts: tuple[Path, Path], blocks: list[Block]) -> bytes:
    """The PDF of a guide; its table of contents takes as many pages as it needs
    (fpdf2 wants the number before the headings are known: one, else two, else three)."""
    from fpdf.errors import FPDFException

    for pages in (1, 2, 3):
        try:
            return Renderer(guide, source_dir, fonts, toc_pages=pages).render(blocks)
        except FPDFException as exc:
            if "ToC ended on page" not in str(exc):
                raise
    raise GuideError(f"{guide.output}: the table of contents needs more than 3 pages")


def build(root: Path) -> int:
    try:
        import fpdf  # noqa: F401
    except ImportError:
        print("guides: fpdf2 is not installed (pip install fpdf2)", file=sys.stderr)
        return 2
    fonts = find_fonts()
    out_dir = root / OUTPUT_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    # read and check every source before writing anything
    parsed = [(guide, *guide_sources(root, guide)) for guide in GUIDES]
    entries: dict[str, tuple[list[tuple[str, str]], str]] = {}
    for guide, blocks, digests in parsed:
        data = render_guide(guide, root / SOURCE_DIR, fonts, blocks)
        target = out_dir / guide.output
        tmp = target.with_suffix(".pdf.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
        entries[guide.output] = (digests, hashlib.sha256(data).hexdigest())
        print(f"guides: wrote {OUTPUT_DIR / guide.output} ({len(data)} bytes)")
    (out_dir / STAMP_NAME).write_text(format_stamp(entries), encoding="utf-8", newline="\n")
    print(f"guides: wrote {OUTPUT_DIR / STAMP_NAME}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only verify that the PDFs are up to date")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="project root (default: this checkout)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        return check(root) if args.check else build(root)
    except GuideError as exc:
        print(f"guides: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
