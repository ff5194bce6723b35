"""Barcode symbols as module patterns: Code 128 and QR, sized to ISBT 128 label geometry."""

from __future__ import annotations

from dataclasses import dataclass

import qrcode
from barcode.charsets.code128 import CODES, STOP
from qrcode.constants import ERROR_CORRECT_M

# SPEC 3: ISBT 128 geometry where the label allows. 0.254 mm (10 mil) is "about 0.25 mm" and is
# a whole number of dots at 300 dpi (3) and at 203 dpi (2), so printed bars keep their ratios.
X_DIMENSION_MM = 0.254
BAR_HEIGHT_MM = 10.0
LINEAR_QUIET_MODULES = 10  # 10 X = 2.54 mm, at least the 2.5 mm ISBT 128 asks for
# A QR module of 0.508 mm (20 mil) is 6 dots at 300 dpi and 4 at 203 dpi.
QR_MODULE_MM = 0.508
QR_QUIET_MODULES = 4

# ZPL and the scan box take printable ASCII only; '^' and '~' would end a ZPL field.
_SYMBOL_CHARACTERS = frozenset(chr(c) for c in range(32, 127)) - {"^", "~"}


def _check_symbol_data(data: str) -> None:
    if not data:
        raise ValueError("a symbol needs data")
    bad = sorted(set(data) - _SYMBOL_CHARACTERS)
    if bad:
        raise ValueError(f"symbol data has characters no label symbol may carry: {bad!r}")


@dataclass(frozen=True)
class LinearPattern:
    """A Code 128 symbol as dark/light modules, start to stop, without quiet zones."""

    data: str
    modules: str  # '1' dark, '0' light

    def bars(self) -> list[tuple[int, int]]:
        """Dark runs as (first module, width in modules): what every backend draws."""
        runs: list[tuple[int, int]] = []
        start = None
        for index, module in enumerate(self.modules + "0"):
            if module == "1" and start is None:
                start = index
            elif module == "0" and start is not None:
                runs.append((start, index - start))
                start = None
        return runs

    @property
    def width_mm(self) -> float:
        return len(self.modules) * X_DIMENSION_MM


@dataclass(frozen=True)
class MatrixPattern:
    """A QR symbol as rows of dark/light modules, without the quiet zone."""

    data: str
    rows: tuple[tuple[bool, ...], ...]

    @property
    def size(self) -> int:
        return len(self.rows)

    def runs(self) -> list[tuple[int, int, int]]:
        """Dark runs as (row, first column, length): fewer shapes than one per module."""
        result: list[tuple[int, int, int]] = []
        for row, cells in enumerate(self.rows):
            start = None
            for column, dark in enumerate((*cells, False)):
                if dark and start is None:
                    start = column
                elif not dark and start is not None:
                    result.append((row, start, column - start))
                    start = None
        return result

    @property
    def width_mm(self) -> float:
        return self.size * QR_MODULE_MM


# Code 128 symbol values (ISO/IEC 15417).
_START_B, _START_C, _CODE_B, _CODE_C = 104, 105, 100, 99
_STOP_MODULES = STOP + "11"  # the stop character ends with its 2-module termination bar


def _digit_run(data: str, start: int) -> int:
    end = start
    while end < len(data) and data[end].isdigit():
        end += 1
    return end - start


def code128_values(data: str) -> list[int]:
    """Symbol values from start to check character, subset C for runs of digits, else B.

    The values are computed here because python-barcode 0.16 drops a leading '99' (it reads
    the pair as a subset switch), which would misprint a bag code; python-barcode still
    supplies the module patterns.
    """
    _check_symbol_data(data)
    leading = _digit_run(data, 0)
    subset = "C" if leading >= 4 or (leading == len(data) and leading % 2 == 0) else "B"
    values = [_START_C if subset == "C" else _START_B]
    index = 0
    while index < len(data):
        run = _digit_run(data, index)
        if subset == "B" and (run >= 6 or (run >= 4 and index + run == len(data))):
            if run % 2:  # an odd run keeps its first digit in B so C gets whole pairs
                values.append(ord(data[index]) - 32)
                index += 1
            values.append(_CODE_C)
            subset = "C"
        elif subset == "C" and run >= 2:
            values.append(int(data[index : index + 2]))
            index += 2
        elif subset == "C":
            values.append(_CODE_B)
            subset = "B"
        else:
            values.append(ord(data[index]) - 32)
            index += 1
    checksum = (values[0] + sum(i * value for i, value in enumerate(values[1:], 1))) % 103
    return [*values, checksum]


def code128(data: str) -> LinearPattern:
    """Code 128 modules for `data`, encoded exactly as given (no FNC1, no added check digit)."""
    modules = "".join(CODES[value] for value in code128_values(data)) + _STOP_MODULES
    return LinearPattern(data=data, modules=modules)


def qr(data: str) -> MatrixPattern:
    """QR modules for `data` at error correction M, the smallest version that holds it.

    QR rather than Data Matrix: no maintained pure-Python Data Matrix encoder is installed, and
    SPEC 3 allows either 2-D symbol.
    """
    _check_symbol_data(data)
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(data)
    code.make(fit=True)
    rows = tuple(tuple(bool(cell) for cell in row) for row in code.get_matrix())
    return MatrixPattern(data=data, rows=rows)
