"""What every document's PDF has: the embedded DejaVu Sans Condensed (Cyrillic),
A4 pages numbered «Стр. 1 из 2», the «ДЕМО» watermark on the demo billing's
documents, amounts as accountants write them («1 234,56», «одна тысяча двести
тридцать четыре рубля 56 копеек»), and the blocks the forms share: a line of
text, a table, signatures.

The output is the same for the same document: the creation date is the
document's date, nothing random goes in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF, FontFace
from fpdf.enums import XPos, YPos
from num2words import num2words

from lkk_app.core.formatting import date_text
from lkk_app.core.formatting import number as _number
from lkk_app.i18n import t

FONTS = Path(__file__).resolve().parents[2] / "fonts"
REGULAR = FONTS / "DejaVuSansCondensed-Cyrillic.ttf"
BOLD = FONTS / "DejaVuSansCondensed-Bold-Cyrillic.ttf"
FAMILY = "DejaVu"
MARGIN = 10.0  # mm
GREY = (110, 110, 110)


def money(value: Decimal) -> str:
    """«1 234,56» (with a plain space: a PDF reader copies it as a space)."""
    return _number(value, 2).replace("\u00a0", " ")


def quantity(value: Decimal) -> str:
    """кВт·ч with up to three decimals as billing gave them: «12 345,678», «1 200»."""
    text = _number(value.normalize() if value == value.to_integral() else value)
    return text.replace("\u00a0", " ")


def price(value: Decimal) -> str:
    """A tariff: at least two decimals, at most four («7,1260» → «7,126»)."""
    places = max(2, min(4, -value.normalize().as_tuple().exponent)) if value else 2  # type: ignore[operator]
    return money(value) if places == 2 else _number(value, places).replace("\u00a0", " ")


def words(amount: Decimal) -> str:
    """«Одна тысяча двести тридцать четыре рубля 56 копеек» (num2words, Russian)."""
    text = num2words(Decimal(amount).quantize(Decimal("0.01")), lang="ru", to="currency", currency="RUB",
                     cents=False, separator="")
    return text[:1].upper() + text[1:]


class DocumentPdf(FPDF):
    """An A4 page set in DejaVu Sans Condensed, with the watermark and page numbers."""

    def __init__(self, *, landscape: bool = False, demo: bool, title: str, issued_on: date, author: str) -> None:
        super().__init__(orientation="L" if landscape else "P", unit="mm", format="A4")
        self.demo = demo
        self.add_font(FAMILY, "", str(REGULAR))
        self.add_font(FAMILY, "B", str(BOLD))
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=14)
        self.set_title(title)
        self.set_author(author)
        self.set_creator(author)
        self.set_lang("ru")
        self.set_creation_date(datetime(issued_on.year, issued_on.month, issued_on.day))
        self.alias_nb_pages()
        self.add_page()
        self.set_font(FAMILY, size=9)

    def header(self) -> None:
        if not self.demo:
            return
        # Under everything else on the page: drawn first, light and slanted.
        with self.local_context(text_color=(200, 200, 200), fill_opacity=0.35):
            size = 110
            self.set_font(FAMILY, "B", size)
            width = self.get_string_width(t("pdf.watermark"))
            cx, cy = self.w / 2, self.h / 2
            with self.rotation(35, x=cx, y=cy):
                self.text(cx - width / 2, cy + size * 0.3528 / 3, t("pdf.watermark"))
        self.set_font(FAMILY, size=9)

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font(FAMILY, size=7)
        self.set_text_color(*GREY)
        if self.demo:
            self.cell(0, 4, t("pdf.demo_note"), align="L")
            self.set_x(self.l_margin)
        self.cell(0, 4, t("pdf.page", page=str(self.page_no()), pages="{nb}"), align="R")
        self.set_text_color(0, 0, 0)

    # ------------------------------------------------------------------ blocks

    def line_text(self, text: str, *, size: float = 9, bold: bool = False, align: str = "L",
                  height: float | None = None, after: float = 0) -> None:
        """A paragraph across the page (wrapped)."""
        self.set_font(FAMILY, "B" if bold else "", size)
        self.multi_cell(0, height or size * 0.45, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if after:
            self.ln(after)
        self.set_font(FAMILY, size=9)

    def grid(self, widths: Sequence[float], rows: Sequence[Sequence[str]], *, size: float = 8,
             headings: int = 1, align: Sequence[str] | None = None, bold_last: bool = False,
             line_height: float | None = None) -> None:
        """A bordered table: ``headings`` rows of bold headings, then ``rows``; cell
        alignment per column (``L``, ``C``, ``R``)."""
        self.set_font(FAMILY, size=size)
        bold = FontFace(emphasis="BOLD")
        with self.table(col_widths=tuple(widths), width=sum(widths), align="L", text_align="LEFT",
                        line_height=line_height or size * 0.5, num_heading_rows=headings,
                        first_row_as_headings=headings > 0,
                        headings_style=FontFace(emphasis="BOLD", size_pt=size), padding=0.8) as table:
            for n, values in enumerate(rows):
                row = table.row()
                last = bold_last and n == len(rows) - 1
                for i, value in enumerate(values):
                    row.cell(value, align=(align[i] if align and n >= headings else "C" if n < headings else "L"),
                             style=bold if last else None)
        self.set_font(FAMILY, size=9)

    def signatures(self, labels: Sequence[str], *, size: float = 8, stamp: bool = False) -> None:
        """Lines to sign on: «label ______ (подпись) ______ (ф. и. о.)», two to a row
        (and «М. П.» under each with ``stamp``)."""
        self.ln(4)
        half = (self.w - 2 * MARGIN) / 2
        for start in range(0, len(labels), 2):
            y = self.get_y()
            for i, label in enumerate(labels[start:start + 2]):
                x = MARGIN + i * half
                self.set_xy(x, y)
                self.set_font(FAMILY, size=size)
                self.multi_cell(half - 4, size * 0.45, label, align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
                self.set_x(x)
                self.cell(half * 0.4, 6, "", border="B")
                self.cell(4, 6, "")
                self.cell(half * 0.45, 6, "", border="B", new_x=XPos.LEFT, new_y=YPos.NEXT)
                self.set_x(x)
                self.set_font(FAMILY, size=6)
                self.set_text_color(*GREY)
                self.cell(half * 0.4, 3, t("pdf.signature"), align="C")
                self.cell(4, 3, "")
                self.cell(half * 0.45, 3, t("pdf.name_sign"), align="C")
                self.set_text_color(0, 0, 0)
                if stamp:
                    self.set_font(FAMILY, size=size)
                    self.set_xy(x, self.get_y() + 5)
                    self.cell(20, 4, t("pdf.stamp"))
            self.set_xy(MARGIN, self.get_y() + 6)
        self.set_font(FAMILY, size=9)


def day(value: date | None) -> str:
    return date_text(value) or t("pdf.dash")
