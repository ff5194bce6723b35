"""A location's printable label: its code as Code 128 with the name beneath (SPEC 3)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from ..labels.layout import printed_text
from ..labels.symbols import BAR_HEIGHT_MM, LINEAR_QUIET_MODULES, X_DIMENSION_MM, code128
from .models import Location


def _mm(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def location_label_svg(location: Location) -> str:
    pattern = code128(location.code)
    quiet = LINEAR_QUIET_MODULES * X_DIMENSION_MM
    width = pattern.width_mm + 2 * quiet
    height = BAR_HEIGHT_MM + 14
    bars = "".join(
        f"M{_mm(quiet + start * X_DIMENSION_MM)} 3h{_mm(run * X_DIMENSION_MM)}"
        f"v{_mm(BAR_HEIGHT_MM)}h{_mm(-run * X_DIMENSION_MM)}z"
        for start, run in pattern.bars()
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_mm(width)}mm" '
        f'height="{_mm(height)}mm" viewBox="0 0 {_mm(width)} {_mm(height)}">'
        f'<rect width="{_mm(width)}" height="{_mm(height)}" fill="#fff"/>'
        f'<g class="symbol" data-symbol="code128"><path d="{bars}"/></g>'
        f'<g font-family="Liberation Sans, Arial, sans-serif" text-anchor="middle">'
        f'<text x="{_mm(width / 2)}" y="{_mm(BAR_HEIGHT_MM + 6.5)}" font-size="3">'
        f"{escape(printed_text(location.code))}</text>"
        f'<text x="{_mm(width / 2)}" y="{_mm(BAR_HEIGHT_MM + 11)}" font-size="3">'
        f"{escape(printed_text(location.name))}</text></g></svg>\n"
    )
