"""The documents as PDF files: :mod:`frame` (page, fonts, watermark, amounts in
words), :mod:`forms` (one layout per kind of document)."""

from lkk_app.billing.pdf.forms import PrintContext, printable, render

__all__ = ["PrintContext", "printable", "render"]
