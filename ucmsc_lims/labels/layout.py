"""One layout per label kind: positioned elements that every output format draws the same way."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import singledispatch
from typing import Literal

from ucmsc_lims.labels.content import (
    BagLabel,
    Label,
    LocationLabel,
    LotLabel,
    MaterialLabel,
    VialLabel,
    WristbandLabel,
)
from ucmsc_lims.labels.symbols import (
    BAR_HEIGHT_MM,
    LINEAR_QUIET_MODULES,
    QR_QUIET_MODULES,
    X_DIMENSION_MM,
    LinearPattern,
    MatrixPattern,
    code128,
    qr,
)

# All lengths are millimetres from the label's top-left corner; text sizes are points.
LINEAR_QUIET_MM = LINEAR_QUIET_MODULES * X_DIMENSION_MM
PT_MM = 25.4 / 72

Align = Literal["left", "right", "center"]
# Control, invisible and line-separator characters: none prints, and each would break a format
# (a NUL or escape is not XML, a line break splits a ZPL field).
_UNPRINTED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def printed_text(text: str) -> str:
    """The text as every backend draws it: each unprinted character becomes a space.

    Forms refuse these characters (core.freetext); this keeps text stored before, or set in
    the configuration, from reaching a printer.
    """
    if text.isprintable():
        return text
    return "".join(" " if unicodedata.category(c) in _UNPRINTED else c for c in text)


@dataclass(frozen=True)
class Text:
    """One line of text; a backend shrinks it until it fits max_width, never lets it overflow."""

    x: float  # the left, right or centre point, by align
    baseline: float
    text: str
    size: float
    max_width: float
    bold: bool = False
    align: Align = "left"

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", printed_text(self.text))


@dataclass(frozen=True)
class Linear:
    """A Code 128 symbol; x is its first bar: the layout keeps the quiet zones clear around it."""

    x: float
    y: float
    pattern: LinearPattern
    height: float = BAR_HEIGHT_MM


@dataclass(frozen=True)
class Matrix:
    """A QR symbol; x, y is its first module, the quiet zone kept clear by the layout."""

    x: float
    y: float
    pattern: MatrixPattern


@dataclass(frozen=True)
class Box:
    """A rectangle: outlined (the boxed check character) or filled (a rule)."""

    x: float
    y: float
    width: float
    height: float
    stroke: float = 0.25
    filled: bool = False


Element = Text | Linear | Matrix | Box


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    elements: tuple[Element, ...]
    language: str = "en"


def fitted_size(text: Text, measure: Callable[[str, float], float]) -> float:
    """The largest size up to the asked one at which `measure` (mm at a point size) fits."""
    width = measure(text.text, text.size)
    if width <= text.max_width or width == 0:
        return text.size
    return text.size * text.max_width / width


def rule(x: float, y: float, width: float) -> Box:
    return Box(x, y, width, 0.25, stroke=0, filled=True)


@singledispatch
def layout(label: Label) -> Layout:
    """The layout of a label; one function per kind below."""
    raise TypeError(f"no label layout for {type(label).__name__}")


BAG_SIZE = (100.0, 50.0)


@layout.register
def _bag(label: BagLabel) -> Layout:
    # SPEC 4.6: the blinded bag label. Every element comes from a BagLabel field, which has
    # nothing that differs by arm, so both arms get the same layout with different ids and times.
    width, height = BAG_SIZE
    margin = 3.0
    matrix = qr(label.bag_code)
    matrix_x = width - margin - matrix.width_mm
    column = matrix_x - QR_QUIET_MODULES * matrix.width_mm / matrix.size - margin - 1
    linear = code128(label.bag_code)
    bars_x = margin + LINEAR_QUIET_MM
    beside_bars = bars_x + linear.width_mm + LINEAR_QUIET_MM + 1
    caution_lines = label.cautions[1:]
    elements: list[Element] = [
        Text(margin, 5.5, label.study_code, 10, 45, bold=True),
        Text(width - margin, 5.5, label.cautions[0], 7.5, 48, bold=True, align="right"),
        *(
            Text(margin, 9.0 + 3.0 * i, line, 6.5, width - 2 * margin)
            for i, line in enumerate(caution_lines)
        ),
    ]
    top = 9.0 + 3.0 * max(len(caution_lines) - 1, 0)
    elements += [
        rule(margin, top + 1.5, width - 2 * margin),
        Text(margin, top + 6.5, f"Subject {label.subject_id}", 10, column, bold=True),
        Text(margin, top + 11, f"Dose {label.dose_number} of {label.dose_count}", 9, 28, bold=True),
        Text(margin + 30, top + 11, f"Volume {label.volume_ml} mL", 9, column - 30),
        Text(margin, top + 15.5, f"Expires {label.expiry_text}", 8, column, bold=True),
        Text(margin, top + 19.5, label.storage, 7.5, column),
        Text(margin, top + 23, f"Sponsor: {label.sponsor}   Site: {label.site}", 6.5, column),
        Matrix(matrix_x, top + 3.5, matrix),
        Linear(bars_x, height - 16.5, linear),
        Text(
            bars_x + linear.width_mm / 2,
            height - 3,
            label.bag_code,
            7,
            linear.width_mm,
            align="center",
        ),
        Text(beside_bars, height - 12, "Bag ID", 6.5, width - margin - beside_bars),
        Text(beside_bars, height - 6.5, label.bag_id, 12, width - margin - beside_bars, bold=True),
    ]
    return Layout(width, height, tuple(elements), label.language)


LOT_SIZE = (100.0, 70.0)


def _din_eye_readable(din: str) -> str:
    # ISBT 128 prints the DIN as facility, year, sequence: G1234 26 123456.
    return f"{din[:5]} {din[5:7]} {din[7:]}"


@layout.register
def _lot(label: LotLabel) -> Layout:
    # SPEC 4.6: ISBT 128 style, one linear symbol per data structure in four quadrants, the DIN's
    # check character boxed beside the eye-readable DIN (never in the symbol), a 2-D symbol below.
    width, height = LOT_SIZE
    margin = 3.0
    half = width / 2
    left, right = margin + LINEAR_QUIET_MM, half + LINEAR_QUIET_MM
    quadrant_text = half - LINEAR_QUIET_MM - margin
    matrix = qr(label.compound_message)
    matrix_x = margin + QR_QUIET_MODULES * matrix.width_mm / matrix.size
    beside_matrix = matrix_x + matrix.width_mm + 4
    text_width = width - margin - beside_matrix
    elements: list[Element] = [
        Linear(left, margin, code128(label.din_data)),
        Text(left, 18, _din_eye_readable(label.din_text), 10, 29, bold=True),
        Text(left + 30, 18, label.din_data[-2:], 6, 4),
        Box(left + 35, 13.6, 5.5, 5.6, stroke=0.3),
        Text(left + 37.75, 18, label.din_check, 10, 4.5, bold=True, align="center"),
        Linear(right, margin, code128(label.product_code_data)),
        Text(right, 18, label.product_code_data[2:], 9, quadrant_text, bold=True),
        Text(right, 22, label.product_description, 7, quadrant_text),
        rule(margin, 24, width - 2 * margin),
        Linear(left, 27, code128(label.collection_data)),
        Text(left, 41.5, f"Collected {label.collection_text}", 7, quadrant_text),
        Linear(right, 27, code128(label.expiry_data)),
        Text(right, 41.5, f"Expires {label.expiry_text}", 7, quadrant_text, bold=True),
        rule(margin, 45, width - 2 * margin),
        Matrix(matrix_x, 48, matrix),
        Text(beside_matrix, 52, label.product_description, 9, text_width, bold=True),
        Text(beside_matrix, 57, f"Product code {label.product_code_data[2:]}", 7.5, text_width),
        Text(beside_matrix, 61.5, "Manufacturing label: never on a patient's bag", 6.5, text_width),
    ]
    return Layout(width, height, tuple(elements), label.language)


WRISTBAND_SIZE = (90.0, 25.0)


@layout.register
def _wristband(label: WristbandLabel) -> Layout:
    # SPEC 4.8: the bedside reads the subject id from the symbols and the nurse compares
    # initials and date of birth with what the patient states.
    width, height = WRISTBAND_SIZE
    margin = 2.5
    matrix = qr(label.wristband_code)
    matrix_x = margin + QR_QUIET_MODULES * matrix.width_mm / matrix.size
    text_x = matrix_x + matrix.width_mm + 3
    linear = code128(label.wristband_code)
    bars_x = width - LINEAR_QUIET_MM - linear.width_mm
    text_width = bars_x - LINEAR_QUIET_MM - text_x
    elements: list[Element] = [
        Matrix(matrix_x, (height - matrix.width_mm) / 2, matrix),
        Text(text_x, 7, label.subject_id, 12, text_width, bold=True),
        Text(text_x, 12.5, f"Initials {label.initials}", 8, text_width),
        Text(text_x, 17, f"DOB {label.date_of_birth:%Y-%m-%d}", 8, text_width),
        Text(text_x, 21.5, label.site, 7, text_width),
        Linear(bars_x, 4, linear),
        Text(
            bars_x + linear.width_mm / 2,
            18.5,
            label.wristband_code,
            7,
            linear.width_mm,
            align="center",
        ),
    ]
    return Layout(width, height, tuple(elements), label.language)


VIAL_SIZE = (70.0, 35.0)


@layout.register
def _vial(label: VialLabel) -> Layout:
    # SPEC 3, 4.2: the donation's DIN as on the lot label (check character boxed, never in the
    # symbol), the vial's own id in the 2-D symbol, and where the vial is stored.
    width, height = VIAL_SIZE
    margin = 3.0
    left = margin + LINEAR_QUIET_MM
    matrix = qr(label.vial_id)
    matrix_x = width - margin - matrix.width_mm
    text_width = width - 2 * margin
    elements: list[Element] = [
        Linear(left, margin, code128(label.din_data)),
        Text(left, 17.5, _din_eye_readable(label.din_text), 9, 27, bold=True),
        Text(left + 28, 17.5, label.din_data[-2:], 6, 4),
        Box(left + 32.5, 13.4, 5.0, 5.2, stroke=0.3),
        Text(left + 35, 17.5, label.din_check, 9, 4, bold=True, align="center"),
        Matrix(matrix_x, margin, matrix),
        Text(margin, 22.5, f"Vial {label.vial_id}", 8, text_width, bold=True),
        Text(margin, 26, f"Position {label.position}", 7, text_width),
        Text(margin, 29.5, f"{label.product_code_data[2:]} {label.product_description}", 6.5,
             text_width),
        Text(margin, 33, f"Expires {label.expiry_text}", 7, text_width, bold=True),
    ]
    return Layout(width, height, tuple(elements), label.language)


MATERIAL_SIZE = (70.0, 31.0)


@layout.register
def _material(label: MaterialLabel) -> Layout:
    # SPEC 3: the receipt code is what a fill or a step scans; the supplier's lot and expiry
    # are what a person checks against the container.
    width, height = MATERIAL_SIZE
    margin = 3.0
    left = margin + LINEAR_QUIET_MM
    linear = code128(label.code)
    beside = left + linear.width_mm + LINEAR_QUIET_MM
    text_width = width - 2 * margin
    elements: list[Element] = [
        Linear(left, margin, linear),
        Text(beside, 7, "Material lot", 7.5, width - margin - beside, bold=True),
        Text(beside, 11.5, label.kind, 7.5, width - margin - beside),
        Text(left, 17.5, label.code, 9, linear.width_mm, bold=True),
        Text(margin, 21.5, label.name, 8, text_width, bold=True),
        Text(margin, 25, f"{label.supplier}, lot {label.supplier_lot}", 6.5, text_width),
        Text(margin, 28.5, f"Expires {label.expiry_text}   Received {label.received_text}", 6.5,
             text_width),
    ]
    return Layout(width, height, tuple(elements), label.language)


LOCATION_MIN_WIDTH = 60.0
LOCATION_HEIGHT = 28.0


@layout.register
def _location(label: LocationLabel) -> Layout:
    # SPEC 3, 4.8: a location code is read at a fixed place; the label grows to hold the
    # longest code with its quiet zones.
    margin = 3.0
    linear = code128(label.code)
    width = max(LOCATION_MIN_WIDTH, linear.width_mm + 2 * (LINEAR_QUIET_MM + margin))
    bars_x = (width - linear.width_mm) / 2
    elements: list[Element] = [
        Linear(bars_x, margin, linear),
        Text(width / 2, 18.5, label.code, 10, width - 2 * margin, bold=True, align="center"),
        Text(width / 2, 24, label.name, 8, width - 2 * margin, align="center"),
    ]
    return Layout(width, LOCATION_HEIGHT, tuple(elements), label.language)
