"""A small PDF writer for tabular documents (purchase orders, lists): text only, no images.

Why not an HTML-to-PDF engine: none is in the lock files yet, and a purchase order is a header,
a table and totals. This writes PDF 1.4 by hand with the standard Helvetica fonts (no font
files embedded, every reader has them), WinAnsi encoding, US Letter pages, and breaks the table
across pages repeating its header. Plain Python: no Django.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

PAGE_WIDTH = 612.0  # US Letter, points
PAGE_HEIGHT = 792.0
MARGIN = 48.0

# Helvetica advance widths (1/1000 em) for ASCII 32..126, from the Adobe core-14 AFM.
_HELVETICA = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
]  # fmt: skip
_BOLD_FACTOR = 1.06  # Helvetica-Bold runs about 6 % wider; close enough for fitting cells


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """Approximate rendered width of ``text`` in points."""
    units = sum(_HELVETICA[ord(c) - 32] if 32 <= ord(c) <= 126 else 556 for c in text)
    return units * size / 1000 * (_BOLD_FACTOR if bold else 1.0)


def fit(text: str, width: float, size: float, *, bold: bool = False) -> str:
    """``text`` shortened with an ellipsis so it fits ``width``."""
    if text_width(text, size, bold=bold) <= width:
        return text
    while text and text_width(text + "…", size, bold=bold) > width:
        text = text[:-1]
    return text + "…"


def _escape(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


@dataclass(frozen=True)
class Column:
    title: str
    width: float
    align: Literal["left", "right"] = "left"


@dataclass
class Document:
    """A title, lines of header text, one table and lines of footer text."""

    title: str
    header: Sequence[str | tuple[str, str]] = ()
    columns: Sequence[Column] = ()
    rows: Sequence[Sequence[str]] = ()
    footer: Sequence[str | tuple[str, str]] = ()
    author: str = "RadFlow"
    _pages: list[list[bytes]] = field(default_factory=list, init=False, repr=False)

    def render(self) -> bytes:
        self._pages = [[]]
        self._y = PAGE_HEIGHT - MARGIN
        self._text(self.title, size=16, bold=True)
        self._y -= 6
        for line in self.header:
            self._labelled(line)
        self._y -= 10
        self._table()
        self._y -= 10
        for line in self.footer:
            self._labelled(line)
        return _assemble(self._pages, title=self.title, author=self.author)

    # --- layout ---------------------------------------------------------------------------

    def _ensure(self, height: float) -> None:
        if self._y - height < MARGIN:
            self._pages.append([])
            self._y = PAGE_HEIGHT - MARGIN

    def _put(self, x: float, text: str, *, size: float, bold: bool) -> None:
        font = b"/F2" if bold else b"/F1"
        self._pages[-1].append(
            b"BT %s %.1f Tf %.2f %.2f Td (%s) Tj ET" % (font, size, x, self._y, _escape(text))
        )

    def _text(self, text: str, *, size: float = 10, bold: bool = False) -> None:
        self._ensure(size + 4)
        self._y -= size + 4
        self._put(MARGIN, fit(text, PAGE_WIDTH - 2 * MARGIN, size, bold=bold), size=size, bold=bold)

    def _labelled(self, line: str | tuple[str, str]) -> None:
        if isinstance(line, str):
            self._text(line)
            return
        label, value = line
        self._ensure(14)
        self._y -= 14
        self._put(MARGIN, label, size=10, bold=True)
        self._put(MARGIN + 120, fit(value, PAGE_WIDTH - 2 * MARGIN - 120, 10), size=10, bold=False)

    def _row(self, cells: Sequence[str], *, bold: bool) -> None:
        x = MARGIN
        for column, cell in zip(self.columns, cells, strict=False):
            text = fit(cell, column.width - 6, 9, bold=bold)
            left = (
                x
                if column.align == "left"
                else x + column.width - 6 - text_width(text, 9, bold=bold)
            )
            self._put(left, text, size=9, bold=bold)
            x += column.width

    def _rule(self) -> None:
        right = MARGIN + sum(c.width for c in self.columns)
        self._pages[-1].append(
            b"0.5 w %.2f %.2f m %.2f %.2f l S" % (MARGIN, self._y - 3, right, self._y - 3)
        )

    def _header_row(self) -> None:
        self._ensure(30)
        self._y -= 13
        self._row([c.title for c in self.columns], bold=True)
        self._rule()
        self._y -= 2

    def _table(self) -> None:
        if not self.columns:
            return
        self._header_row()
        for cells in self.rows:
            if self._y - 13 < MARGIN:
                self._pages.append([])
                self._y = PAGE_HEIGHT - MARGIN
                self._header_row()
            self._y -= 13
            self._row(cells, bold=False)


def _assemble(pages: list[list[bytes]], *, title: str, author: str) -> bytes:
    """Objects: 1 catalog, 2 page tree, 3-4 fonts, 5 info, then (page, contents) pairs."""
    objects: list[bytes] = []
    count = len(pages)
    page_ids = [6 + 2 * i for i in range(count)]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = b" ".join(b"%d 0 R" % pid for pid in page_ids)
    objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count))
    for name in (b"Helvetica", b"Helvetica-Bold"):
        objects.append(
            b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>" % name
        )
    objects.append(b"<< /Title (%s) /Producer (%s) >>" % (_escape(title), _escape(author)))
    for number, ops in enumerate(pages, start=1):
        footer = b"BT /F1 8 Tf %.2f %.2f Td (%s) Tj ET" % (
            PAGE_WIDTH - MARGIN - 60,
            MARGIN / 2,
            _escape(f"Page {number} of {count}"),
        )
        stream = zlib.compress(b"\n".join([*ops, footer]))
        pid = page_ids[number - 1]
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
            b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>"
            % (int(PAGE_WIDTH), int(PAGE_HEIGHT), pid + 1)
        )
        objects.append(
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream)
        )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for index, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (index, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
