"""PDF output (SPEC 4.6): one label per page for a label printer, or sheets for office printers."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from ucmsc_lims.labels.content import Label
from ucmsc_lims.labels.fonts import typeface
from ucmsc_lims.labels.layout import PT_MM, Box, Layout, Linear, Matrix, Text, fitted_size, layout
from ucmsc_lims.labels.symbols import QR_MODULE_MM, X_DIMENSION_MM

Stock = Literal["single", "a4", "letter"]

# Sheet stock pages in points. Labels sit in a centred grid of whole labels; 100 x 50 mm labels
# give 2 x 5 on both A4 and Letter.
PAGES: dict[str, tuple[float, float]] = {"a4": A4, "letter": LETTER}
SHEET_MARGIN_MM = 4.0
CUT_GUIDE_GREY = 0.8


@dataclass(frozen=True)
class Grid:
    columns: int
    rows: int
    cell: tuple[float, float]  # mm
    origin: tuple[float, float]  # mm from the page's top-left to the first cell

    @property
    def per_page(self) -> int:
        return self.columns * self.rows


def sheet_grid(stock: Stock, cell: tuple[float, float]) -> Grid:
    """How many whole labels of `cell` size fit the page, centred."""
    page_w, page_h = (side / mm for side in PAGES[stock])
    columns = math.floor((page_w - 2 * SHEET_MARGIN_MM) / cell[0])
    rows = math.floor((page_h - 2 * SHEET_MARGIN_MM) / cell[1])
    if columns < 1 or rows < 1:
        raise ValueError(f"a {cell[0]:g} x {cell[1]:g} mm label does not fit {stock} stock")
    origin = ((page_w - columns * cell[0]) / 2, (page_h - rows * cell[1]) / 2)
    return Grid(columns, rows, cell, origin)


def _draw(canvas: Canvas, plan: Layout, left: float, top: float) -> None:
    """Draw one layout with its top-left corner at (left, top) in mm from the page's bottom."""
    face = typeface(plan.language)

    def x(value: float) -> float:
        return (left + value) * mm

    def y(value: float) -> float:
        return (top - value) * mm

    for element in plan.elements:
        match element:
            case Text():
                font = face.pdf_bold if element.bold else face.pdf_regular
                size = fitted_size(element, lambda s, pt, f=font: stringWidth(s, f, pt) * PT_MM)
                canvas.setFont(font, size)
                draw = {
                    "left": canvas.drawString,
                    "right": canvas.drawRightString,
                    "center": canvas.drawCentredString,
                }[element.align]
                draw(x(element.x), y(element.baseline), element.text)
            case Linear():
                for start, run in element.pattern.bars():
                    canvas.rect(
                        x(element.x + start * X_DIMENSION_MM),
                        y(element.y + element.height),
                        run * X_DIMENSION_MM * mm,
                        element.height * mm,
                        stroke=0,
                        fill=1,
                    )
            case Matrix():
                for row, column, run in element.pattern.runs():
                    canvas.rect(
                        x(element.x + column * QR_MODULE_MM),
                        y(element.y + (row + 1) * QR_MODULE_MM),
                        run * QR_MODULE_MM * mm,
                        QR_MODULE_MM * mm,
                        stroke=0,
                        fill=1,
                    )
            case Box():
                canvas.setLineWidth(element.stroke * mm)
                canvas.rect(
                    x(element.x),
                    y(element.y + element.height),
                    element.width * mm,
                    element.height * mm,
                    stroke=0 if element.filled else 1,
                    fill=1 if element.filled else 0,
                )


def _cut_guide(canvas: Canvas, left: float, top: float, cell: tuple[float, float]) -> None:
    canvas.saveState()
    canvas.setStrokeGray(CUT_GUIDE_GREY)
    canvas.setLineWidth(0.2)
    canvas.rect(left * mm, (top - cell[1]) * mm, cell[0] * mm, cell[1] * mm, stroke=1, fill=0)
    canvas.restoreState()


def to_pdf(labels: Sequence[Label], stock: Stock = "single") -> bytes:
    """A PDF of the labels: one per page sized to the label ('single'), or A4/Letter sheets."""
    if not labels:
        raise ValueError("no labels to print")
    plans = [layout(label) for label in labels]
    out = io.BytesIO()
    canvas = Canvas(out, pageCompression=1)
    canvas.setTitle("Labels")
    if stock == "single":
        for plan in plans:
            canvas.setPageSize((plan.width * mm, plan.height * mm))
            _draw(canvas, plan, 0, plan.height)
            canvas.showPage()
    elif stock in PAGES:
        cell = (max(p.width for p in plans), max(p.height for p in plans))
        grid = sheet_grid(stock, cell)
        page_h = PAGES[stock][1] / mm
        for first in range(0, len(plans), grid.per_page):
            canvas.setPageSize(PAGES[stock])
            for index, plan in enumerate(plans[first : first + grid.per_page]):
                row, column = divmod(index, grid.columns)
                left = grid.origin[0] + column * cell[0]
                top = page_h - grid.origin[1] - row * cell[1]
                _cut_guide(canvas, left, top, cell)
                _draw(canvas, plan, left, top)
            canvas.showPage()
    else:
        raise ValueError(f"unknown label stock {stock!r}: use single, a4 or letter")
    canvas.save()
    return out.getvalue()
