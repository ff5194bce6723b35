"""Label outputs (SPEC 4.6): SVG and PNG previews here, PDF sheets and ZPL in their modules.

Every format draws the same `layout()` of a label, so the formats cannot drift apart.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from flask_babel import gettext as _
from PIL import Image, ImageDraw, ImageFont
from reportlab.pdfbase.pdfmetrics import stringWidth

from ucmsc_lims.core.errors import DomainError
from ucmsc_lims.labels.content import Label
from ucmsc_lims.labels.fonts import Typeface, typeface
from ucmsc_lims.labels.layout import PT_MM, Box, Layout, Linear, Matrix, Text, fitted_size, layout
from ucmsc_lims.labels.sheet import to_pdf
from ucmsc_lims.labels.symbols import QR_MODULE_MM, X_DIMENSION_MM
from ucmsc_lims.labels.zpl import to_zpl

__all__ = ["FORMATS", "render", "to_pdf", "to_png", "to_svg", "to_zpl"]

# What a label page or print answers in each format (SPEC 4.6).
FORMATS = {
    "svg": "image/svg+xml",
    "png": "image/png",
    "pdf": "application/pdf",
    "zpl": "application/x-zpl",
}


def _mm(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _svg_text(text: Text, face: Typeface) -> str:
    font = face.pdf_bold if text.bold else face.pdf_regular
    size = fitted_size(text, lambda s, pt: stringWidth(s, font, pt) * PT_MM)
    anchor = {"left": "start", "right": "end", "center": "middle"}[text.align]
    weight = ' font-weight="bold"' if text.bold else ""
    return (
        f'<text x="{_mm(text.x)}" y="{_mm(text.baseline)}" font-size="{_mm(size * PT_MM)}"'
        f' text-anchor="{anchor}"{weight}>{escape(text.text)}</text>'
    )


def _svg_linear(symbol: Linear) -> str:
    x = X_DIMENSION_MM
    path = "".join(
        f"M{_mm(symbol.x + start * x)} {_mm(symbol.y)}h{_mm(run * x)}v{_mm(symbol.height)}"
        f"h{_mm(-run * x)}z"
        for start, run in symbol.pattern.bars()
    )
    return f'<g class="symbol" data-symbol="code128"><path d="{path}"/></g>'


def _svg_matrix(symbol: Matrix) -> str:
    m = QR_MODULE_MM
    path = "".join(
        f"M{_mm(symbol.x + column * m)} {_mm(symbol.y + row * m)}h{_mm(run * m)}v{_mm(m)}"
        f"h{_mm(-run * m)}z"
        for row, column, run in symbol.pattern.runs()
    )
    return f'<g class="symbol" data-symbol="qr"><path d="{path}"/></g>'


def _svg_box(box: Box) -> str:
    if box.filled:
        return (
            f'<rect x="{_mm(box.x)}" y="{_mm(box.y)}" width="{_mm(box.width)}"'
            f' height="{_mm(box.height)}"/>'
        )
    return (
        f'<rect x="{_mm(box.x)}" y="{_mm(box.y)}" width="{_mm(box.width)}"'
        f' height="{_mm(box.height)}" fill="none" stroke="#000"'
        f' stroke-width="{_mm(box.stroke)}"/>'
    )


def to_svg(label: Label) -> str:
    """An SVG preview at true size (mm), its symbols as paths."""
    plan = layout(label)
    face = typeface(plan.language)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_mm(plan.width)}mm"'
        f' height="{_mm(plan.height)}mm" viewBox="0 0 {_mm(plan.width)} {_mm(plan.height)}">',
        f'<rect width="{_mm(plan.width)}" height="{_mm(plan.height)}" fill="#fff"/>',
        f'<g font-family={quoteattr(face.svg_family)} fill="#000">',
    ]
    for element in plan.elements:
        match element:
            case Text():
                parts.append(_svg_text(element, face))
            case Linear():
                parts.append(_svg_linear(element))
            case Matrix():
                parts.append(_svg_matrix(element))
            case Box():
                parts.append(_svg_box(element))
    parts += ["</g>", "</svg>"]
    return "\n".join(parts) + "\n"


@cache
def _raster_font(path: Path, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size_px)


class _Raster:
    """Draws a layout onto a greyscale image, with symbol modules snapped to whole pixels."""

    def __init__(self, plan: Layout, dpi: int) -> None:
        self.scale = dpi / 25.4  # pixels per mm
        self.dpi = dpi
        self.face = typeface(plan.language)
        size = (round(plan.width * self.scale), round(plan.height * self.scale))
        self.image = Image.new("L", size, 255)
        self.draw = ImageDraw.Draw(self.image)

    def px(self, mm: float) -> int:
        return round(mm * self.scale)

    def text(self, text: Text) -> None:
        path = self.face.raster_bold if text.bold else self.face.raster_regular

        def measure(value: str, points: float) -> float:
            font = _raster_font(path, max(1, round(points * self.dpi / 72)))
            return font.getlength(value) / self.scale

        points = fitted_size(text, measure)
        font = _raster_font(path, max(1, int(points * self.dpi / 72)))
        anchor = {"left": "ls", "right": "rs", "center": "ms"}[text.align]
        self.draw.text(
            (self.px(text.x), self.px(text.baseline)), text.text, fill=0, font=font, anchor=anchor
        )

    def linear(self, symbol: Linear) -> None:
        module = max(1, self.px(X_DIMENSION_MM))
        x0, top, bottom = self.px(symbol.x), self.px(symbol.y), self.px(symbol.y + symbol.height)
        for start, run in symbol.pattern.bars():
            left = x0 + start * module
            self.draw.rectangle((left, top, left + run * module - 1, bottom - 1), fill=0)

    def matrix(self, symbol: Matrix) -> None:
        module = max(1, self.px(QR_MODULE_MM))
        x0, y0 = self.px(symbol.x), self.px(symbol.y)
        for row, column, run in symbol.pattern.runs():
            left, top = x0 + column * module, y0 + row * module
            self.draw.rectangle((left, top, left + run * module - 1, top + module - 1), fill=0)

    def box(self, box: Box) -> None:
        corners = (
            self.px(box.x),
            self.px(box.y),
            self.px(box.x + box.width) - 1,
            self.px(box.y + box.height) - 1,
        )
        if box.filled:
            self.draw.rectangle(corners, fill=0)
        else:
            self.draw.rectangle(corners, outline=0, width=max(1, self.px(box.stroke)))


def to_png(label: Label, dpi: int = 300) -> bytes:
    """A PNG preview at `dpi`, greyscale, with the dpi recorded so it prints at true size."""
    plan = layout(label)
    raster = _Raster(plan, dpi)
    for element in plan.elements:
        match element:
            case Text():
                raster.text(element)
            case Linear():
                raster.linear(element)
            case Matrix():
                raster.matrix(element)
            case Box():
                raster.box(element)
    out = io.BytesIO()
    raster.image.save(out, format="PNG", dpi=(dpi, dpi))
    return out.getvalue()


def render(label: Label, fmt: str) -> tuple[bytes, str]:
    """The label in one of FORMATS, with its content type; a single label per PDF page."""
    if fmt not in FORMATS:
        formats = ", ".join(FORMATS)
        raise DomainError(_("A label format is one of %(formats)s.", formats=formats),
                          field_errors={"format": [_("One of %(formats)s.", formats=formats)]})
    if fmt == "svg":
        body = to_svg(label).encode()
    elif fmt == "png":
        body = to_png(label)
    elif fmt == "pdf":
        body = to_pdf([label])
    else:
        body = to_zpl(label).encode()
    return body, FORMATS[fmt]
