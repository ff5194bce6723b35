"""Every CSV the product writes, with cells a spreadsheet shows and never runs (SPEC 4.9, 4.10, 5).

A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula by
spreadsheet programs, so a reason typed as `=HYPERLINK(...)` would become a live link in the
inspector's copy of the audit trail (OWASP "CSV injection"). Such a text cell gets a leading
single quote, which spreadsheets show as text. Numbers pass unchanged, whether written as
numbers (int, float, Decimal) or as the plain decimal text the product keeps for them (a lab
value "-1.5", typed and validated as a number): a plain numeral runs nothing, and a quote would
turn the statistician's -1.5 into text.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import IO, Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
# A plain decimal numeral, sign and exponent allowed: a spreadsheet reads it as a number only.
_NUMERAL = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def _formula_like(text: str) -> bool:
    # Quotes already in front count too, so that quoting stays reversible: "'=x" becomes "''=x".
    bare = text.lstrip(QUOTE)
    return bare.startswith(FORMULA_TRIGGERS) and not (bare == text and _NUMERAL.fullmatch(text))


def safe_cell(value: object) -> object:
    """The value as it may stand in a cell: formula-like text gets a leading quote."""
    if value is None or isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    return QUOTE + text if _formula_like(text) else text


def original_text(cell: str) -> str:
    """The text `safe_cell` was given, read back from a CSV the product wrote (round trips)."""
    return cell[1:] if cell.startswith(QUOTE) and _formula_like(cell) else cell


class Writer:
    """`csv.writer` whose every cell goes through `safe_cell`."""

    def __init__(self, out: IO[str], **fmtparams: Any) -> None:
        self._rows = csv.writer(out, **fmtparams)

    def writerow(self, row: Iterable[object]) -> None:
        self._rows.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


class DictWriter:
    """`csv.DictWriter` (extra keys refused, missing ones empty) over a `Writer`."""

    def __init__(self, out: IO[str], fieldnames: Sequence[str], **fmtparams: Any) -> None:
        self.fieldnames = tuple(fieldnames)
        self._rows = Writer(out, **fmtparams)

    def writeheader(self) -> None:
        self._rows.writerow(self.fieldnames)

    def writerow(self, row: Mapping[str, object]) -> None:
        extra = [key for key in row if key not in self.fieldnames]
        if extra:
            raise ValueError(f"dict contains fields not in fieldnames: {extra!r}")
        self._rows.writerow(row.get(name, "") for name in self.fieldnames)

    def writerows(self, rows: Iterable[Mapping[str, object]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: IO[str], **fmtparams: Any) -> Writer:
    return Writer(out, **fmtparams)


def dict_writer(out: IO[str], fieldnames: Sequence[str], **fmtparams: Any) -> DictWriter:
    return DictWriter(out, fieldnames, **fmtparams)
