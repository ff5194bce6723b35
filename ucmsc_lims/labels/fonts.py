"""The one place that chooses label fonts, per output format and per language."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import reportlab
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont

_REPORTLAB_FONTS = Path(reportlab.__file__).parent / "fonts"
_LIBERATION = Path("/usr/share/fonts/truetype/liberation")
_NOTO_CJK = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
)


@dataclass(frozen=True)
class Typeface:
    """The font of each backend for one language; every backend measures text with its own."""

    pdf_regular: str  # a ReportLab font name
    pdf_bold: str
    svg_family: str
    raster_regular: Path  # a TrueType file for PNG
    raster_bold: Path
    zpl_font: str  # the ^A font command, with {height} and {width} in dots


def _first_existing(*paths: Path) -> Path:
    return next((path for path in paths if path.exists()), paths[-1])


# Helvetica in PDF; in PNG the metric-compatible Liberation Sans where the system has it, else
# the Vera font that ships inside ReportLab, so PNG rendering needs nothing beyond the venv.
LATIN = Typeface(
    pdf_regular="Helvetica",
    pdf_bold="Helvetica-Bold",
    svg_family="Helvetica, Arial, 'Liberation Sans', sans-serif",
    raster_regular=_first_existing(
        _LIBERATION / "LiberationSans-Regular.ttf", _REPORTLAB_FONTS / "Vera.ttf"
    ),
    raster_bold=_first_existing(
        _LIBERATION / "LiberationSans-Bold.ttf", _REPORTLAB_FONTS / "VeraBd.ttf"
    ),
    zpl_font="^A0N,{height},{width}",
)

# Simplified Chinese: PDF uses the Adobe CID font that viewers and printers supply (no file to
# embed); PNG needs a CJK font on the system (falls back to Latin glyphs without one); ZPL
# needs a Unicode TrueType font downloaded to the printer's E: drive under this name.
CHINESE = Typeface(
    pdf_regular="STSong-Light",
    pdf_bold="STSong-Light",
    svg_family="'Noto Sans CJK SC', 'Source Han Sans SC', SimSun, sans-serif",
    raster_regular=_first_existing(*_NOTO_CJK, LATIN.raster_regular),
    raster_bold=_first_existing(*_NOTO_CJK, LATIN.raster_bold),
    zpl_font="^A@N,{height},{width},E:SIMSUN.TTF",
)


def typeface(language: str) -> Typeface:
    """The typeface for a label's language: zh_Hans gets the CJK fonts, everything else Latin."""
    if language.replace("-", "_").lower() in {"zh_hans", "zh_cn", "zh"}:
        _register_cid_font(CHINESE.pdf_regular)
        return CHINESE
    return LATIN


@cache
def _register_cid_font(name: str) -> None:
    pdfmetrics.registerFont(UnicodeCIDFont(name))
