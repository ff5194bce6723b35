"""ZPL output (SPEC 4.6) for Zebra thermal printers at 203 or 300 dpi."""

from __future__ import annotations

from reportlab.pdfbase.pdfmetrics import stringWidth

from ucmsc_lims.labels.content import Label
from ucmsc_lims.labels.fonts import Typeface, typeface
from ucmsc_lims.labels.layout import PT_MM, Box, Linear, Matrix, Text, fitted_size, layout
from ucmsc_lims.labels.symbols import QR_MODULE_MM, X_DIMENSION_MM

PRINTER_DPI = (203, 300)
# Printer font 0 runs a little wider than Helvetica: measure with a margin so text never
# overflows its field block.
_ZPL_WIDTH_FACTOR = 1.1
_ASCENT = 0.78  # of the font height, from the field's top to the baseline
# ^FH escapes: the field data may not contain the command prefixes or the escape itself.
_FIELD_ESCAPES = {"_": "_5F", "^": "_5E", "~": "_7E"}


def _field_data(value: str) -> str:
    """^FD text, with ^FH hex escapes only when the text needs them."""
    if not any(char in value for char in _FIELD_ESCAPES):
        return f"^FD{value}^FS"
    escaped = "".join(_FIELD_ESCAPES.get(char, char) for char in value)
    return f"^FH_^FD{escaped}^FS"


class _Dots:
    def __init__(self, dpi: int) -> None:
        if dpi not in PRINTER_DPI:
            raise ValueError(f"ZPL is written for {PRINTER_DPI} dpi printers, not {dpi}")
        self.per_mm = dpi / 25.4

    def __call__(self, value_mm: float) -> int:
        return round(value_mm * self.per_mm)


def _text(text: Text, face: Typeface, dots: _Dots) -> str:
    font = face.pdf_bold if text.bold else face.pdf_regular
    size = fitted_size(text, lambda s, pt: stringWidth(s, font, pt) * PT_MM * _ZPL_WIDTH_FACTOR)
    height = max(1, dots(size * PT_MM))
    width = dots(text.max_width)
    left = {"left": text.x, "right": text.x - text.max_width, "center": text.x - text.max_width / 2}
    justify = {"left": "L", "right": "R", "center": "C"}[text.align]
    top = dots(text.baseline - size * PT_MM * _ASCENT)
    # Bold has no ZPL weight in font 0: a slightly wider character cell stands in for it.
    char_width = round(height * (1.1 if text.bold else 1.0))
    return (
        f"^FO{dots(left[text.align])},{max(0, top)}"
        f"{face.zpl_font.format(height=height, width=char_width)}"
        f"^FB{width},1,0,{justify},0{_field_data(text.text)}"
    )


def _linear(symbol: Linear, dots: _Dots) -> str:
    module = max(1, dots(X_DIMENSION_MM))
    height = dots(symbol.height)
    # Mode A (automatic): the printer takes the data as plain ASCII and picks the subsets, so
    # ISBT 128 data such as '&>' needs no invocation codes.
    return (
        f"^FO{dots(symbol.x)},{dots(symbol.y)}^BY{module},3,{height}"
        f"^BCN,{height},N,N,N,A^FD{symbol.pattern.data}^FS"
    )


def _matrix(symbol: Matrix, dots: _Dots) -> str:
    magnification = min(10, max(1, dots(QR_MODULE_MM)))
    # Model 2; field data 'MA,': error correction M, automatic input mode.
    return (
        f"^FO{dots(symbol.x)},{dots(symbol.y)}^BQN,2,{magnification}^FDMA,{symbol.pattern.data}^FS"
    )


def _box(box: Box, dots: _Dots) -> str:
    width, height = max(1, dots(box.width)), max(1, dots(box.height))
    thickness = min(width, height) if box.filled else max(1, dots(box.stroke))
    return f"^FO{dots(box.x)},{dots(box.y)}^GB{width},{height},{thickness}^FS"


def to_zpl(label: Label, dpi: int = 203) -> str:
    """One ZPL label format, ^XA to ^XZ, in UTF-8 (^CI28) so '°' and Chinese text print."""
    plan = layout(label)
    dots = _Dots(dpi)
    face = typeface(plan.language)
    commands = ["^XA", "^CI28", f"^PW{dots(plan.width)}", f"^LL{dots(plan.height)}", "^LH0,0"]
    for element in plan.elements:
        match element:
            case Text():
                commands.append(_text(element, face, dots))
            case Linear():
                commands.append(_linear(element, dots))
            case Matrix():
                commands.append(_matrix(element, dots))
            case Box():
                commands.append(_box(element, dots))
    commands.append("^XZ")
    return "\n".join(commands) + "\n"
